package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"chatlab/chaos/docker"
	"chatlab/scenarios"
	"chatlab/system/node"
)

// Images the docker target runs; `make images` builds both offline.
const (
	DockerImage      = "chatlab:dev"
	DockerRedisImage = "chatlab-redis:dev"
)

// dockerCallWait bounds one call to the balancer's drain API.
const dockerCallWait = 5 * time.Second

// DockerOptions are the knobs of a run on containers besides the scenario.
type DockerOptions struct {
	Seed     uint64
	Delivery node.Delivery
}

// DockerReady says why the docker target cannot run here (no daemon, or
// an image missing), or nil when it can.
func DockerReady(ctx context.Context) error {
	if err := docker.Available(ctx); err != nil {
		return fmt.Errorf("the docker target needs a running Docker daemon (start dockerd): %w", err)
	}
	client, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("the docker target needs a Docker daemon: %w", err)
	}
	defer client.Close()
	for _, image := range []string{DockerImage, DockerRedisImage} {
		if _, err := client.ImageInspect(ctx, image); err != nil {
			return fmt.Errorf("the docker target needs the image %s (build it with `make images`): %w", image, err)
		}
	}
	return nil
}

// NewDockerCluster prepares a run of scenario on chatlab:dev containers
// (nodes and balancer) and a chatlab-redis:dev container. Docker cuts a
// link both ways only and shapes no traffic, so a scenario with a one-way
// partition, a delay or a loss is refused here, naming the fault.
func NewDockerCluster(scenario *scenarios.Scenario, options DockerOptions) (Cluster, error) {
	if err := dockerCanRun(scenario); err != nil {
		return nil, err
	}
	if options.Delivery == "" {
		options.Delivery = scenario.Topology.Delivery
	}
	system := &dockerSystem{scenario: scenario, options: options, down: map[string]bool{}, paused: map[string]bool{}}
	return newRealCluster("docker", scenario, options.Seed, system), nil
}

// dockerCanRun refuses the faults the docker target cannot carry out.
func dockerCanRun(scenario *scenarios.Scenario) error {
	if scenario.Topology.Redis == scenarios.RedisCluster {
		return Refused("scenario %s runs on a Redis Cluster (topology redis: cluster), which the docker target does not start; run it with --target local", scenario.Name)
	}
	for i, f := range scenario.Faults {
		what := fmt.Sprintf("scenario %s, fault %d (%s %s at %s)", scenario.Name, i+1, f.Action, f.Target, f.At)
		switch {
		case f.Action == scenarios.Partition && f.Direction != scenarios.Both:
			return Refused("%s: the docker target cuts links both ways only (network disconnect), not direction %q; run it with --target local", what, f.Direction)
		case f.Action == scenarios.Delay || f.Action == scenarios.Loss:
			return Refused("%s: the docker target has no %s on a link (its scratch containers have no traffic shaping); run it with --target local", what, f.Action)
		case f.Action == scenarios.PubSubKill && f.Duration > 0:
			return Refused("%s: the docker target kills the pub/sub connections once, not for a duration; run it with --target local", what)
		case f.Action == scenarios.ConnFlood || f.Action == scenarios.UpgradeAborts:
			return Refused("%s: the docker target cannot give the abusing clients an address of their own (every client reaches the published ports from the Docker bridge's gateway), so the balancer's per-address limit would hold back the well-behaved clients with them; run it with --target local", what)
		}
	}
	return nil
}

// dockerSystem carries out a scenario's topology and faults with
// chaos/docker: docker kill, start and stop, pause and unpause, network
// disconnect and connect.
type dockerSystem struct {
	scenario *scenarios.Scenario
	options  DockerOptions
	cluster  *docker.Cluster

	// calls serializes calls on the cluster's containers: the sampler
	// skips a sample rather than wait for a container start.
	calls sync.Mutex
	// mu guards down, paused and lastConnections.
	mu     sync.Mutex
	down   map[string]bool
	paused map[string]bool
	// lastConnections are the nodes' connections as last read, shown again
	// by a sample taken while a container call is under way.
	lastConnections map[string]int
}

// redisDescription: the docker target runs Debian's redis-server in its
// own container.
func (s *dockerSystem) redisDescription() string {
	return "redis-server (container " + DockerRedisImage + ")"
}

func (s *dockerSystem) start(ctx context.Context) error {
	topology := s.scenario.Topology
	cluster, err := docker.Start(ctx, docker.Config{Nodes: topology.Nodes, Delivery: s.options.Delivery,
		Policy: topology.Policy, Image: DockerImage, RedisImage: DockerRedisImage, NodeArgs: nodeArgs(topology), BalancerArgs: balancerArgs(topology)})
	if err != nil {
		return err
	}
	s.cluster = cluster
	return nil
}

// entryURLs is the balancer's endpoint, or none while its container is
// down (it has no published port then; the clients keep the last one and
// get it again once the balancer is started).
func (s *dockerSystem) entryURLs(ctx context.Context) ([]string, error) {
	if s.is(s.down, balancerName) {
		return nil, nil
	}
	s.calls.Lock()
	defer s.calls.Unlock()
	url, err := s.cluster.BalancerURL(ctx)
	return []string{url}, err
}

// errDockerBusy: a fault holds the Docker calls; ask again later.
var errDockerBusy = errors.New("a fault is being applied")

func (s *dockerSystem) balancerAdmin(ctx context.Context) (string, error) {
	if !s.calls.TryLock() {
		return "", errDockerBusy
	}
	defer s.calls.Unlock()
	return s.cluster.AdminEndpoint(ctx, balancerName)
}

// abuserAddr is the host's default: the docker target's join and garbage
// floods are told apart by connection and user, not by address.
func (s *dockerSystem) abuserAddr() (net.IP, error) { return nil, nil }

func (s *dockerSystem) memberURL(ctx context.Context, name string) (string, error) {
	s.calls.Lock()
	defer s.calls.Unlock()
	nodes, urls := s.cluster.Nodes(), s.cluster.NodeURLs(ctx)
	if i := slices.Index(nodes, name); i >= 0 && len(urls) == len(nodes) {
		return urls[i], nil
	}
	return "", fmt.Errorf("docker: no endpoint for node %s while a node is down", name)
}

func (s *dockerSystem) set(states map[string]bool, name string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	states[name] = on
}

func (s *dockerSystem) is(states map[string]bool, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return states[name]
}

// fault maps one step to chaos/docker as the simulator's target maps it to
// simulated faults.
func (s *dockerSystem) fault(ctx context.Context, step Step) error {
	s.calls.Lock()
	defer s.calls.Unlock()
	f := step.Fault
	a, b := f.Link[0], f.Link[1]
	if step.End {
		switch f.Action {
		case scenarios.Kill, scenarios.Restart, scenarios.BalancerRestart:
			return s.startMember(ctx, memberOf(f))
		case scenarios.RedisRestart:
			return s.startMember(ctx, redisName)
		case scenarios.Drain:
			if err := s.startMember(ctx, f.Target); err != nil {
				return err
			}
			return s.balancerCall(ctx, f.Target, "undrain")
		case scenarios.Pause:
			return s.pause(ctx, f.Target, false)
		case scenarios.Partition:
			return s.cluster.Heal(ctx, a, b)
		}
		return nil
	}
	switch f.Action {
	case scenarios.Kill:
		return s.kill(ctx, f.Target)
	case scenarios.Restart, scenarios.BalancerRestart:
		if err := s.kill(ctx, memberOf(f)); err != nil || f.Duration > 0 {
			return err
		}
		return s.startMember(ctx, memberOf(f))
	case scenarios.RedisRestart:
		return s.stopRedis(ctx, f)
	case scenarios.Pause:
		return s.pause(ctx, f.Target, true)
	case scenarios.Resume:
		return s.pause(ctx, f.Target, false)
	case scenarios.Drain:
		if err := s.balancerCall(ctx, f.Target, "drain"); err != nil {
			return err
		}
		s.set(s.down, f.Target, true)
		return s.cluster.Stop(ctx, f.Target)
	case scenarios.Partition:
		return s.cluster.Partition(ctx, a, b, f.Direction)
	case scenarios.Heal:
		if f.Target == "" {
			return s.cluster.HealAll(ctx)
		}
		return s.cluster.Heal(ctx, a, b)
	case scenarios.PubSubKill:
		if s.is(s.down, redisName) {
			return nil // no pub/sub connection to kill
		}
		return s.cluster.KillPubSub(ctx)
	}
	return fmt.Errorf("docker: no fault %q", f.Action)
}

// stopRedis restarts Redis, or takes it down for the fault's window. A
// Redis that loses its data is flushed and restarted at once, then taken
// down: its container keeps an append-only file, and chaos/docker empties
// it only through a restart.
func (s *dockerSystem) stopRedis(ctx context.Context, f scenarios.Fault) error {
	if f.Duration == 0 || !f.Persist {
		if err := s.cluster.RestartRedis(ctx, f.Persist); err != nil || f.Duration == 0 {
			return err
		}
	}
	return s.kill(ctx, redisName)
}

func (s *dockerSystem) kill(ctx context.Context, name string) error {
	if s.is(s.down, name) {
		return nil
	}
	s.set(s.down, name, true)
	return s.cluster.Kill(ctx, name)
}

// startMember starts a killed or stopped member again (a running one is
// left alone).
func (s *dockerSystem) startMember(ctx context.Context, name string) error {
	if !s.is(s.down, name) {
		return nil
	}
	if err := s.cluster.StartMember(ctx, name); err != nil {
		return err
	}
	s.set(s.down, name, false)
	return nil
}

func (s *dockerSystem) pause(ctx context.Context, name string, on bool) error {
	if s.is(s.paused, name) == on {
		return nil
	}
	var err error
	if on {
		err = s.cluster.Pause(ctx, name)
	} else {
		err = s.cluster.Unpause(ctx, name)
	}
	if err == nil {
		s.set(s.paused, name, on)
	}
	return err
}

// balancerCall asks the balancer's admin listener to drain or undrain a
// node.
func (s *dockerSystem) balancerCall(ctx context.Context, backend, action string) error {
	addr, err := s.cluster.AdminEndpoint(ctx, balancerName)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, dockerCallWait)
	defer cancel()
	request, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/backends/"+backend+"/"+action, nil)
	if err != nil {
		return err
	}
	request.Header.Set("Authorization", "Bearer "+s.cluster.AdminToken())
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		return fmt.Errorf("balancer %s %s: %w", action, backend, err)
	}
	response.Body.Close()
	if response.StatusCode/100 != 2 {
		return fmt.Errorf("balancer %s %s: %s", action, backend, response.Status)
	}
	return nil
}

// restore reconnects every link, unpauses every frozen member, and starts
// Redis and the balancer if they are down; a killed node stays down, as in
// the simulator.
func (s *dockerSystem) restore(ctx context.Context) error {
	s.calls.Lock()
	defer s.calls.Unlock()
	errs := []error{s.cluster.HealAll(ctx)}
	s.mu.Lock()
	var frozen []string
	for name, paused := range s.paused {
		if paused {
			frozen = append(frozen, name)
		}
	}
	s.mu.Unlock()
	slices.Sort(frozen)
	for _, name := range frozen {
		errs = append(errs, s.pause(ctx, name, false))
	}
	errs = append(errs, s.startMember(ctx, redisName), s.startMember(ctx, balancerName))
	return errors.Join(errs...)
}

// sample reads each running node's /state; a member killed, stopped or
// paused, or one that does not answer, is down. While a container call is
// under way (a start can take seconds) the sample repeats the last
// connection counts of the nodes still up.
func (s *dockerSystem) sample(ctx context.Context) Sample {
	sample := Sample{Connections: map[string]int{}, Up: map[string]bool{}}
	nodes := s.cluster.Nodes()
	s.mu.Lock()
	var running []string // nodes with a container up
	for _, name := range append(slices.Clone(nodes), balancerName, redisName) {
		sample.Up[name] = !s.down[name] && !s.paused[name]
		if !s.down[name] && slices.Contains(nodes, name) {
			running = append(running, name)
		}
	}
	last := s.lastConnections
	s.mu.Unlock()
	if !s.calls.TryLock() {
		for name, connections := range last {
			if sample.Up[name] {
				sample.Connections[name] = connections
			}
		}
		return sample
	}
	addrs := map[string]string{}
	for _, name := range append(running, balancerName) {
		if addr, err := s.cluster.AdminEndpoint(ctx, name); err == nil {
			addrs[name] = addr
		}
	}
	s.calls.Unlock()
	for _, name := range append(nodes, balancerName) {
		addr, ok := addrs[name]
		if !sample.Up[name] || !ok {
			continue
		}
		readMember(ctx, &sample, name, addr)
	}
	// Samples are taken both on the sampler's tick and right after a fault
	// (sampleNow): the last counts are shared between them.
	s.mu.Lock()
	s.lastConnections = sample.Connections
	s.mu.Unlock()
	return sample
}

// adminAddrs are the admin endpoints of the nodes and the balancer whose
// containers are neither down nor paused.
func (s *dockerSystem) adminAddrs(ctx context.Context) map[string]string {
	s.calls.Lock()
	defer s.calls.Unlock()
	addrs := map[string]string{}
	for _, name := range append(s.cluster.Nodes(), balancerName) {
		if s.is(s.down, name) || s.is(s.paused, name) {
			continue
		}
		if addr, err := s.cluster.AdminEndpoint(ctx, name); err == nil {
			addrs[name] = addr
		}
	}
	return addrs
}

// heads is nil: the docker cluster does not publish Redis's port, so the
// clients' agreement on each room decides convergence.
func (s *dockerSystem) heads(context.Context, []string) (map[string]roomHead, error) {
	return nil, nil
}

func (s *dockerSystem) close() {
	if s.cluster != nil {
		s.cluster.Close()
	}
}
