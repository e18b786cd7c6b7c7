package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

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
	if err := LocalUnsupported(scenario); err != nil {
		return nil, err
	}
	if why := oneRedisFaultsRefused(options.Redis); why != nil {
		for _, f := range scenario.Faults {
			if f.Action == scenarios.RedisRestart || f.Action == scenarios.PubSubDrop || f.Target == scenarios.RedisName ||
				f.Link[0] == scenarios.RedisName || f.Link[1] == scenarios.RedisName {
				return nil, Refused("scenario %s has a %s fault on Redis: %s; run it with --redis server or embedded",
					scenario.Name, f.Action, why)
			}
		}
	}
	system := &localSystem{faults: newFaults("local"), scenario: scenario, options: options}
	return newRealCluster("local", scenario, options.Seed, system), nil
}

// LocalUnsupported refuses a scenario with a fault the local target cannot
// make (nil when it has none): a redis-shard-partition would cut a Redis
// Cluster master off from some nodes, but the nodes reach the cluster's
// servers at their own addresses (MOVED and CLUSTER SLOTS name them), with
// no fault proxy in between to cut.
func LocalUnsupported(scenario *scenarios.Scenario) error {
	for _, f := range scenario.Faults {
		if f.Action == scenarios.RedisShardPartition {
			return Refused("scenario %s: fault %s: the local target's nodes reach the Redis Cluster's servers at their own "+
				"addresses, with no fault proxy between them to cut; it runs on the simulator (--target sim)", scenario.Name, f.Action)
		}
	}
	return nil
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

// localSystem carries out a scenario's topology with chaos/local, and
// its faults through faults: kill -9, SIGTERM, SIGSTOP and SIGCONT,
// restarts, drains, and the fault proxies on every node's Redis link and
// balancer link.
type localSystem struct {
	faults
	scenario *scenarios.Scenario
	options  LocalOptions
	cluster  *local.Cluster
	redis    goredis.UniversalClient
}

func (s *localSystem) start(ctx context.Context) error {
	topology := s.scenario.Topology
	cluster, err := local.Start(ctx, local.Config{Binary: s.options.Binary, Nodes: topology.Nodes,
		Delivery: s.options.Delivery, Policy: topology.Policy, Redis: s.options.Redis, RunDir: s.options.RunDir,
		Seed: s.options.Seed, NodeArgs: nodeArgs(topology), BalancerArgs: balancerArgs(topology), LinkBufferBytes: labSocketBufferBytes})
	if err != nil {
		return err
	}
	s.cluster, s.members = cluster, cluster
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
	return s.cluster.AdminAddr(scenarios.BalancerName)
}

func (s *localSystem) memberURL(_ context.Context, name string) (string, error) {
	addr, err := s.cluster.HTTPAddr(name)
	return "ws://" + addr + "/ws", err
}

// abuserAddr is 127.0.0.2: loopback, yet another address than the
// well-behaved clients'.
func (s *localSystem) abuserAddr() (net.IP, error) { return abuserAddress, nil }

// sample reads each running node's /state; a member killed, drained or
// frozen, or one that does not answer, is down.
func (s *localSystem) sample(ctx context.Context) Sample {
	sample := Sample{Connections: map[string]int{}, Up: map[string]bool{}}
	for _, name := range append(s.cluster.Nodes(), scenarios.BalancerName, scenarios.RedisName) {
		sample.Up[name] = s.running(name)
	}
	for _, name := range append(s.cluster.Nodes(), scenarios.BalancerName) {
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
	for _, name := range append(s.cluster.Nodes(), scenarios.BalancerName) {
		if addr, err := s.cluster.AdminAddr(name); s.running(name) && err == nil {
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
