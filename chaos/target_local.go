package chaos

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"sync"

	goredis "github.com/redis/go-redis/v9"

	"chatlab/chaos/local"
	"chatlab/scenarios"
	"chatlab/system/node"
)

// LocalOptions are the knobs of a run on local processes besides the
// scenario.
type LocalOptions struct {
	Seed     uint64
	Delivery node.Delivery
	// Binary is the chatlab binary the nodes and the balancer run.
	Binary string
	// Redis is local.RedisEmbedded, local.RedisServer, local.RedisCluster
	// or a redis:// URL; empty takes local.DefaultRedis: redis-server when
	// installed.
	Redis string
	// RunDir receives the processes' logs (default: a new temporary
	// directory, kept so that a failed run can be read).
	RunDir string
}

// NewLocalCluster prepares a run of scenario on real `chatlab node` and
// `chatlab balancer` processes on 127.0.0.1, with real WebSocket clients.
func NewLocalCluster(scenario *scenarios.Scenario, options LocalOptions) (Cluster, error) {
	if options.Binary == "" {
		return nil, errors.New("the local target needs the chatlab binary (LocalOptions.Binary)")
	}
	if options.Delivery == "" {
		options.Delivery = scenario.Topology.Delivery
	}
	if scenario.Topology.Redis == scenarios.RedisCluster {
		if options.Redis != "" && options.Redis != local.RedisCluster {
			return nil, Refused("scenario %s runs on a Redis Cluster (topology redis: cluster), not --redis %s", scenario.Name, options.Redis)
		}
		options.Redis = local.RedisCluster
	}
	if options.Redis == "" {
		options.Redis = local.DefaultRedis("")
	}
	if why := oneRedisFaultsRefused(options.Redis); why != nil {
		for _, f := range scenario.Faults {
			if f.Action == scenarios.RedisRestart || f.Target == redisName || f.Link[0] == redisName || f.Link[1] == redisName {
				return nil, Refused("scenario %s has a %s fault on Redis: %s; run it with --redis server or embedded",
					scenario.Name, f.Action, why)
			}
		}
	}
	system := &localSystem{scenario: scenario, options: options, down: map[string]bool{}, paused: map[string]bool{}}
	return newRealCluster("local", scenario, options.Seed, system), nil
}

// oneRedisFaultsRefused says why faults on the one Redis (restart, pause,
// a node's link to it) cannot run on this Redis, or nil when they can.
func oneRedisFaultsRefused(redis string) error {
	switch {
	case local.IsRedisURL(redis):
		return local.ErrRedisNotOurs
	case redis == local.RedisCluster:
		return local.ErrRedisCluster
	}
	return nil
}

// localSystem carries out a scenario's topology and faults with
// chaos/local: kill -9, SIGSTOP and SIGCONT, restarts, drains, and the
// fault proxies on every node's Redis link and balancer link.
type localSystem struct {
	scenario *scenarios.Scenario
	options  LocalOptions
	cluster  *local.Cluster
	redis    goredis.UniversalClient

	// mu guards down and paused, which the sampler reads while a fault is
	// applied.
	mu sync.Mutex
	// down holds members taken down (killed, drained, Redis stopped).
	down map[string]bool
	// paused holds members frozen by a pause.
	paused map[string]bool
}

func (s *localSystem) start(ctx context.Context) error {
	topology := s.scenario.Topology
	cluster, err := local.Start(ctx, local.Config{Binary: s.options.Binary, Nodes: topology.Nodes,
		Delivery: s.options.Delivery, Policy: topology.Policy, Redis: s.options.Redis, RunDir: s.options.RunDir,
		Seed: s.options.Seed, NodeArgs: nodeArgs(topology), BalancerArgs: balancerArgs(topology), LinkBufferBytes: labSocketBufferBytes})
	if err != nil {
		return err
	}
	s.cluster = cluster
	if addrs := cluster.RedisClusterAddrs(); addrs != nil {
		s.redis = goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs, DisableIdentity: true})
		return nil
	}
	redisOptions, err := goredis.ParseURL(cluster.RedisURL())
	if err != nil {
		return err
	}
	redisOptions.DisableIdentity = true
	s.redis = goredis.NewClient(redisOptions)
	return nil
}

func (s *localSystem) redisDescription() string {
	if s.cluster == nil {
		return ""
	}
	return s.cluster.RedisDescription()
}

func (s *localSystem) entryURLs(context.Context) ([]string, error) {
	return []string{s.cluster.BalancerURL()}, nil
}

func (s *localSystem) balancerAdmin(context.Context) (string, error) {
	return s.cluster.AdminAddr(balancerName)
}

func (s *localSystem) memberURL(_ context.Context, name string) (string, error) {
	addr, err := s.cluster.HTTPAddr(name)
	return "ws://" + addr + "/ws", err
}

// abuserAddr is 127.0.0.2: loopback, yet another address than the
// well-behaved clients'.
func (s *localSystem) abuserAddr() (net.IP, error) { return abuserAddress, nil }

func (s *localSystem) setDown(name string, down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down[name] = down
}

func (s *localSystem) setPaused(name string, paused bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paused[name] = paused
}

func (s *localSystem) isDown(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down[name]
}

// fault maps one step to chaos/local as the simulator's target maps it to
// simulated faults.
func (s *localSystem) fault(ctx context.Context, step Step) error {
	f := step.Fault
	a, b := f.Link[0], f.Link[1]
	if step.End {
		switch f.Action {
		case scenarios.Kill, scenarios.Restart, scenarios.BalancerRestart:
			return s.startMember(ctx, memberOf(f))
		case scenarios.RedisRestart:
			return s.startRedis()
		case scenarios.RedisFailover:
			return s.cluster.RestartRedisMasters()
		case scenarios.Drain:
			// A drained node comes back as a new process, in rotation again.
			if err := s.cluster.Kill(f.Target); err != nil {
				return err
			}
			if err := s.cluster.Undrain(ctx, f.Target); err != nil {
				return err
			}
			s.setDown(f.Target, false)
			return nil
		case scenarios.Pause:
			return s.pause(f.Target, false)
		case scenarios.Partition:
			return s.cluster.Heal(a, b)
		case scenarios.Delay:
			return s.cluster.Delay(a, b, 0, 0)
		case scenarios.Loss:
			return s.cluster.Loss(a, b, 0)
		case scenarios.PubSubKill:
			s.cluster.AdmitPubSub()
			return nil
		}
		return nil
	}
	switch f.Action {
	case scenarios.Kill:
		return s.kill(f.Target)
	case scenarios.Restart, scenarios.BalancerRestart:
		if err := s.kill(memberOf(f)); err != nil || f.Duration > 0 {
			return err
		}
		return s.startMember(ctx, memberOf(f))
	case scenarios.RedisRestart:
		s.setDown(redisName, true)
		if err := s.cluster.StopRedis(f.Persist); err != nil || f.Duration > 0 {
			return err
		}
		return s.startRedis()
	case scenarios.RedisFailover:
		return s.cluster.FailoverRedis(ctx, workloadRoom(f.Room), f.Lag)
	case scenarios.Pause:
		return s.pause(f.Target, true)
	case scenarios.Resume:
		return s.pause(f.Target, false)
	case scenarios.Drain:
		s.setDown(f.Target, true)
		return s.cluster.Drain(ctx, f.Target)
	case scenarios.Partition:
		return s.cluster.Partition(a, b, f.Direction)
	case scenarios.Heal:
		if f.Target == "" {
			s.cluster.HealAll()
			return nil
		}
		return s.cluster.Heal(a, b)
	case scenarios.Delay:
		return s.cluster.Delay(a, b, f.Latency, f.Jitter)
	case scenarios.Loss:
		return s.cluster.Loss(a, b, int(math.Round(f.Percent)))
	case scenarios.PubSubKill:
		if f.Duration > 0 {
			return s.cluster.RefusePubSub(ctx)
		}
		if s.isDown(redisName) {
			return nil // no pub/sub connection to kill
		}
		return s.cluster.KillPubSub(ctx)
	}
	return fmt.Errorf("local: no fault %q", f.Action)
}

// memberOf is the process a fault acts on.
func memberOf(f scenarios.Fault) string {
	if f.Action == scenarios.BalancerRestart {
		return balancerName
	}
	return f.Target
}

func (s *localSystem) kill(name string) error {
	s.setDown(name, true)
	return s.cluster.Kill(name)
}

// startMember starts a killed member again (a running one is left alone).
func (s *localSystem) startMember(ctx context.Context, name string) error {
	if !s.isDown(name) {
		return nil
	}
	if err := s.cluster.StartMember(ctx, name); err != nil {
		return err
	}
	s.setDown(name, false)
	return nil
}

func (s *localSystem) startRedis() error {
	if !s.isDown(redisName) {
		return nil
	}
	if err := s.cluster.StartRedis(); err != nil {
		return err
	}
	s.setDown(redisName, false)
	return nil
}

func (s *localSystem) pause(name string, on bool) error {
	s.mu.Lock()
	already := s.paused[name] == on
	s.mu.Unlock()
	if already {
		return nil
	}
	var err error
	if on {
		err = s.cluster.Stop(name)
	} else {
		err = s.cluster.Cont(name)
	}
	if err == nil {
		s.setPaused(name, on)
	}
	return err
}

// restore heals every link, continues every frozen member, and starts
// Redis and the balancer if they are down; a killed node stays down, as in
// the simulator.
func (s *localSystem) restore(ctx context.Context) error {
	s.cluster.HealAll()
	s.mu.Lock()
	var frozen []string
	for name, paused := range s.paused {
		if paused {
			frozen = append(frozen, name)
		}
	}
	s.mu.Unlock()
	var errs []error
	slices.Sort(frozen)
	for _, name := range frozen {
		errs = append(errs, s.pause(name, false))
	}
	errs = append(errs, s.startRedis(), s.startMember(ctx, balancerName))
	return errors.Join(errs...)
}

// sample reads each running node's /state; a member killed, drained or
// frozen, or one that does not answer, is down.
func (s *localSystem) sample(ctx context.Context) Sample {
	sample := Sample{Connections: map[string]int{}, Up: map[string]bool{}}
	s.mu.Lock()
	for _, name := range append(s.cluster.Nodes(), balancerName, redisName) {
		sample.Up[name] = !s.down[name] && !s.paused[name]
	}
	s.mu.Unlock()
	for _, name := range append(s.cluster.Nodes(), balancerName) {
		if !sample.Up[name] {
			continue
		}
		addr, err := s.cluster.AdminAddr(name)
		if err != nil {
			sample.Up[name] = false
			continue
		}
		readMember(ctx, &sample, name, addr)
	}
	return sample
}

// adminAddrs are the admin endpoints of the nodes and the balancer that
// are neither down nor frozen.
func (s *localSystem) adminAddrs(context.Context) map[string]string {
	addrs := map[string]string{}
	for _, name := range append(s.cluster.Nodes(), balancerName) {
		s.mu.Lock()
		running := !s.down[name] && !s.paused[name]
		s.mu.Unlock()
		if addr, err := s.cluster.AdminAddr(name); running && err == nil {
			addrs[name] = addr
		}
	}
	return addrs
}

// heads reads each room's seq and epoch from Redis itself, not through
// any fault proxy.
func (s *localSystem) heads(ctx context.Context, rooms []string) (map[string]roomHead, error) {
	heads := make(map[string]roomHead, len(rooms))
	for _, room := range rooms {
		tag := "chatlab:{" + room + "}:"
		values, err := s.redis.MGet(ctx, tag+"seq", tag+"epoch").Result()
		if err != nil {
			return nil, err
		}
		var head roomHead
		if text, ok := values[0].(string); ok {
			if head.Head, err = strconv.ParseUint(text, 10, 64); err != nil {
				return nil, fmt.Errorf("room %s: seq %q: %w", room, text, err)
			}
		}
		if text, ok := values[1].(string); ok {
			head.Epoch = text
		}
		heads[room] = head
	}
	return heads, nil
}

func (s *localSystem) close() {
	if s.redis != nil {
		s.redis.Close()
	}
	if s.cluster != nil {
		s.cluster.Close()
	}
}
