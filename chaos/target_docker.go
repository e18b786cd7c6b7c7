package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"

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
	system := &dockerSystem{faults: newFaults("docker"), scenario: scenario, options: options}
	return newRealCluster("docker", scenario, options.Seed, system), nil
}

// dockerCanRun refuses the faults the docker target cannot carry out.
func dockerCanRun(scenario *scenarios.Scenario) error {
	if scenario.Topology.Redis == scenarios.RedisCluster {
		return Refused("scenario %s runs on a Redis Cluster (topology redis: cluster), which the docker target does not start; run it with --target local", scenario.Name)
	}
	for i, f := range scenario.Faults {
		what := fmt.Sprintf("scenario %s, fault %d (%s %s at %s)", scenario.Name, i+1, f.Action, f.Target, f.At)
		if why := docker.Unsupported(f); why != nil {
			return Refused("%s: %v; run it with --target local", what, why)
		}
		switch f.Action {
		case scenarios.ConnFlood, scenarios.UpgradeAborts:
			return Refused("%s: the docker target cannot give the abusing clients an address of their own (every client reaches the published ports from the Docker bridge's gateway), so the balancer's per-address limit would hold back the well-behaved clients with them; run it with --target local", what)
		}
	}
	return nil
}

// dockerSystem carries out a scenario's topology with chaos/docker, and
// its faults through faults: docker kill, start and stop, pause and
// unpause, network disconnect and connect. Every other call on the
// containers takes faults.calls too: the sampler skips a sample rather
// than wait for a container start.
type dockerSystem struct {
	faults
	scenario *scenarios.Scenario
	options  DockerOptions
	cluster  *docker.Cluster

	// lastMu guards lastConnections: the nodes' connections as last read,
	// shown again by a sample taken while a container call is under way.
	lastMu          sync.Mutex
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
	s.cluster, s.members = cluster, cluster
	return nil
}

// entryURLs is the balancer's endpoint, or none while its container is
// down (it has no published port then; the clients keep the last one and
// get it again once the balancer is started).
func (s *dockerSystem) entryURLs(ctx context.Context) ([]string, error) {
	if s.isDown(scenarios.BalancerName) {
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
	return s.cluster.AdminEndpoint(ctx, scenarios.BalancerName)
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

// sample reads each running node's /state; a member killed, stopped or
// paused, or one that does not answer, is down. While a container call is
// under way (a start can take seconds) the sample repeats the last
// connection counts of the nodes still up.
func (s *dockerSystem) sample(ctx context.Context) Sample {
	sample := Sample{Connections: map[string]int{}, Up: map[string]bool{}}
	nodes := s.cluster.Nodes()
	var running []string // nodes with a container up
	for _, name := range append(slices.Clone(nodes), scenarios.BalancerName, scenarios.RedisName) {
		sample.Up[name] = s.running(name)
		if !s.isDown(name) && slices.Contains(nodes, name) {
			running = append(running, name)
		}
	}
	s.lastMu.Lock()
	last := s.lastConnections
	s.lastMu.Unlock()
	if !s.calls.TryLock() {
		for name, connections := range last {
			if sample.Up[name] {
				sample.Connections[name] = connections
			}
		}
		return sample
	}
	addrs := map[string]string{}
	for _, name := range append(running, scenarios.BalancerName) {
		if addr, err := s.cluster.AdminEndpoint(ctx, name); err == nil {
			addrs[name] = addr
		}
	}
	s.calls.Unlock()
	for _, name := range append(nodes, scenarios.BalancerName) {
		addr, ok := addrs[name]
		if !sample.Up[name] || !ok {
			continue
		}
		readMember(ctx, &sample, name, addr)
	}
	// Samples are taken both on the sampler's tick and right after a fault
	// (sampleNow): the last counts are shared between them.
	s.lastMu.Lock()
	s.lastConnections = sample.Connections
	s.lastMu.Unlock()
	return sample
}

// adminAddrs are the admin endpoints of the nodes and the balancer whose
// containers are neither down nor paused.
func (s *dockerSystem) adminAddrs(ctx context.Context) map[string]string {
	s.calls.Lock()
	defer s.calls.Unlock()
	addrs := map[string]string{}
	for _, name := range append(s.cluster.Nodes(), scenarios.BalancerName) {
		if !s.running(name) {
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
