package local

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"chatlab/scenarios"
	"chatlab/system/admin"
	"chatlab/system/balance"
	"chatlab/system/node"
)

// Limits of a local cluster.
const (
	nodesMax = 16
	// startWait bounds one process's start, up to its readiness answer.
	startWait = 15 * time.Second
	// drainExitWait bounds a drained node's exit after SIGTERM; it is
	// above the node's own drain timeout (5 s).
	drainExitWait = 10 * time.Second
	// stateWait bounds one GET /state.
	stateWait = 5 * time.Second
)

// Config describes a local cluster.
type Config struct {
	// Binary is the chatlab binary to run (build it with
	// `go build -o PATH ./cmd/chatlab`).
	Binary string
	// Nodes names the nodes (default n1, n2, n3).
	Nodes    []string
	Delivery node.Delivery  // default recover
	Policy   balance.Policy // default least-conn
	// Redis is RedisEmbedded (default), RedisServer, RedisCluster (3
	// masters, 3 replicas; the nodes reach it directly), or the redis://
	// URL of a Redis the cluster does not run (its database is flushed at
	// start; faults on Redis are refused).
	Redis string
	// RedisBinary is the redis-server to run (default: redis-server on PATH).
	RedisBinary string
	// RunDir receives every process's log (default: a new temporary
	// directory, kept after Close so that a failed run can be read).
	RunDir string
	// Seed drives the fault proxies' loss decisions.
	Seed uint64
	// NodeArgs and BalancerArgs are extra flags for every node and for the
	// balancer (rate limits, health interval).
	NodeArgs     []string
	BalancerArgs []string
	// LinkBufferBytes, when set, caps what each balancer→node link holds
	// per direction (FaultProxy.CapBuffers), as the node and the balancer
	// cap their sockets: a client that stops reading then pushes back on
	// its node within seconds.
	LinkBufferBytes int
	// NoBalancer leaves the balancer out (a one-node benchmark).
	NoBalancer bool
	// DirectRedis connects the nodes to Redis without a fault proxy in
	// between (a benchmark's cluster: faults on Redis links are refused).
	DirectRedis bool
	// DirectBackends has the balancer dial the nodes without a fault proxy
	// in between (a benchmark's cluster: faults on balancer links are
	// refused).
	DirectBackends bool
	// Dashboard, when set, runs `chatlab dashboard` on this address,
	// watching the nodes and the balancer.
	Dashboard string
}

// Cluster is a running local cluster.
type Cluster struct {
	cfg    Config
	redis  *redis
	nodes  map[string]*member
	order  []string // node names as configured
	router *member
	// dashboard is the optional `chatlab dashboard` child.
	dashboard *member
	// redisLinks and balancerLinks are the fault proxies, by node name.
	redisLinks    map[string]*FaultProxy
	balancerLinks map[string]*FaultProxy
	redisPaused   bool
	// adminToken is the balancer's drain API token, as written to
	// adminTokenFile.
	adminToken string
}

// member is one chatlab process and where it serves.
type member struct {
	process *process
	addr    string
	admin   string // where /state, /metrics (and the balancer's drain API) are
	ready   string // the path that answers 200 once it takes clients
}

// adminTokenFile holds the balancer's admin token, in the run directory.
const adminTokenFile = "admin-token"

// Start brings up Redis, the nodes (each behind its own Redis link proxy)
// and the balancer (each backend behind its own link proxy), and returns
// once every one answers ready. On error everything started is stopped.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Cluster{cfg: cfg, nodes: map[string]*member{}, order: cfg.Nodes,
		redisLinks: map[string]*FaultProxy{}, balancerLinks: map[string]*FaultProxy{}}
	if err := c.start(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (cfg Config) withDefaults() (Config, error) {
	if cfg.Binary == "" {
		return cfg, errors.New("local: Config.Binary is required")
	}
	if len(cfg.Nodes) == 0 {
		cfg.Nodes = []string{"n1", "n2", "n3"}
	}
	if len(cfg.Nodes) > nodesMax {
		return cfg, fmt.Errorf("local: %d nodes, at most %d", len(cfg.Nodes), nodesMax)
	}
	for _, name := range cfg.Nodes {
		if name == scenarios.BalancerName || name == scenarios.RedisName || strings.Contains(name, "-") {
			return cfg, fmt.Errorf("local: node name %q is reserved or holds '-'", name)
		}
	}
	if cfg.Delivery == "" {
		cfg.Delivery = node.Recover
	}
	if cfg.Policy == "" {
		cfg.Policy = balance.LeastConnections
	}
	if cfg.Redis == "" {
		cfg.Redis = RedisEmbedded
	}
	if cfg.Redis == RedisCluster {
		// The nodes learn the cluster's addresses from the cluster: a
		// proxy in front of one node would be bypassed.
		cfg.DirectRedis = true
	}
	if cfg.RedisBinary == "" {
		cfg.RedisBinary = "redis-server"
	}
	if cfg.RunDir == "" {
		dir, err := os.MkdirTemp("", "chatlab-local-")
		if err != nil {
			return cfg, err
		}
		cfg.RunDir = dir
	}
	return cfg, os.MkdirAll(cfg.RunDir, 0o755)
}

func (c *Cluster) start(ctx context.Context) error {
	var err error
	if c.redis, err = startRedis(c.cfg.Redis, c.cfg.RedisBinary, c.cfg.RunDir); err != nil {
		return err
	}
	var backends []string
	for i, name := range c.order {
		redisAddr := c.redis.addr
		if !c.cfg.DirectRedis {
			link, err := NewFaultProxy(c.redis.addr, c.cfg.Seed+uint64(2*i))
			if err != nil {
				return err
			}
			link.FilterPushes()
			c.redisLinks[name] = link
			redisAddr = link.Addr()
		}
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		admin, err := freeAddr()
		if err != nil {
			return err
		}
		redisArgs := []string{"--redis", c.redis.nodeURL(redisAddr)}
		if c.redis.cluster != nil {
			redisArgs = []string{"--redis-cluster", strings.Join(c.redis.cluster.Addrs(), ",")}
		}
		args := append(append([]string{"node", "--id", name, "--listen", addr, "--admin-listen", admin}, redisArgs...),
			append([]string{"--delivery", string(c.cfg.Delivery), "--auth", "off"}, c.cfg.NodeArgs...)...)
		c.nodes[name] = &member{addr: addr, admin: admin, ready: "/readyz",
			process: &process{name: name, path: c.cfg.Binary, args: args, logPath: filepath.Join(c.cfg.RunDir, name+".log")}}
		if err := c.startMember(ctx, c.nodes[name]); err != nil {
			return err
		}
		if c.cfg.DirectBackends {
			backends = append(backends, name+"="+addr)
			continue
		}
		if c.balancerLinks[name], err = NewFaultProxy(addr, c.cfg.Seed+uint64(2*i+1)); err != nil {
			return err
		}
		c.balancerLinks[name].CapBuffers(c.cfg.LinkBufferBytes)
		backends = append(backends, name+"="+c.balancerLinks[name].Addr())
	}
	if c.cfg.NoBalancer {
		return nil
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	admin, err := freeAddr()
	if err != nil {
		return err
	}
	if err := c.writeAdminToken(); err != nil {
		return err
	}
	args := append([]string{"balancer", "--listen", addr, "--admin-listen", admin, "--admin-token-file", filepath.Join(c.cfg.RunDir, adminTokenFile),
		"--backends", strings.Join(backends, ","), "--policy", string(c.cfg.Policy)}, c.cfg.BalancerArgs...)
	c.router = &member{addr: addr, admin: admin, ready: "/healthz",
		process: &process{name: scenarios.BalancerName, path: c.cfg.Binary, args: args, logPath: filepath.Join(c.cfg.RunDir, "balancer.log")}}
	if err := c.startMember(ctx, c.router); err != nil {
		return err
	}
	if c.cfg.Dashboard == "" {
		return nil
	}
	watched := make([]string, 0, len(c.order))
	for _, name := range c.order {
		watched = append(watched, name+"="+c.nodes[name].admin)
	}
	c.dashboard = &member{addr: c.cfg.Dashboard, ready: "/",
		process: &process{name: "dashboard", path: c.cfg.Binary, logPath: filepath.Join(c.cfg.RunDir, "dashboard.log"),
			args: []string{"dashboard", "--listen", c.cfg.Dashboard, "--nodes", strings.Join(watched, ","), "--balancer", c.router.addr,
				"--balancer-admin", c.router.admin}}}
	return c.startMember(ctx, c.dashboard)
}

func (c *Cluster) startMember(ctx context.Context, m *member) error {
	if err := m.process.start(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, startWait)
	defer cancel()
	if err := waitHTTP(ctx, "http://"+m.addr+m.ready, m.process.exited); err != nil {
		return fmt.Errorf("%s: %w (log: %s)", m.process.name, err, m.process.logPath)
	}
	return nil
}

// member finds a node or the balancer by name.
func (c *Cluster) member(name string) (*member, error) {
	if name == scenarios.BalancerName && c.router != nil {
		return c.router, nil
	}
	if m, ok := c.nodes[name]; ok {
		return m, nil
	}
	return nil, fmt.Errorf("local: no member %q", name)
}

// RunDir is where the logs are.
func (c *Cluster) RunDir() string { return c.cfg.RunDir }

// Nodes names the nodes in configured order.
func (c *Cluster) Nodes() []string { return append([]string(nil), c.order...) }

// BalancerURL is the balancer's WebSocket endpoint ("" without one).
func (c *Cluster) BalancerURL() string {
	if c.router == nil {
		return ""
	}
	return "ws://" + c.router.addr + "/ws"
}

// NodeURLs are the nodes' own WebSocket endpoints, in configured order.
func (c *Cluster) NodeURLs() []string {
	urls := make([]string, 0, len(c.order))
	for _, name := range c.order {
		urls = append(urls, "ws://"+c.nodes[name].addr+"/ws")
	}
	return urls
}

// HTTPAddr is where a member serves clients (/ws) and /healthz.
func (c *Cluster) HTTPAddr(name string) (string, error) {
	m, err := c.member(name)
	if err != nil {
		return "", err
	}
	return m.addr, nil
}

// AdminAddr is where a member serves /state and /metrics (and, on the
// balancer, the drain API), on loopback.
func (c *Cluster) AdminAddr(name string) (string, error) {
	m, err := c.member(name)
	if err != nil {
		return "", err
	}
	return m.admin, nil
}

// AdminToken is the bearer token the balancer's drain API asks for.
func (c *Cluster) AdminToken() string { return c.adminToken }

// writeAdminToken makes a fresh random token for this run's balancer.
func (c *Cluster) writeAdminToken() error {
	c.adminToken = rand.Text()
	return os.WriteFile(filepath.Join(c.cfg.RunDir, adminTokenFile), []byte(c.adminToken+"\n"), 0o600)
}

// RedisAddr is where Redis listens (not through any fault proxy).
func (c *Cluster) RedisAddr() string { return c.redis.addr }

// RedisURL is the URL a client outside the fault proxies reaches Redis at
// (with an external Redis's credentials and database).
func (c *Cluster) RedisURL() string { return c.redis.nodeURL(c.redis.addr) }

// RedisClusterAddrs are the Redis Cluster's node addresses, or nil on one
// Redis.
func (c *Cluster) RedisClusterAddrs() []string {
	if c.redis.cluster == nil {
		return nil
	}
	return c.redis.cluster.Addrs()
}

// RedisDescription says which Redis runs: "redis-server 7.0.15",
// "miniredis v2 (embedded; ...)" or an external one.
func (c *Cluster) RedisDescription() string { return c.redis.describe }

// PID is a member's process id, 0 while it is down.
func (c *Cluster) PID(name string) int {
	m, err := c.member(name)
	if err != nil {
		return 0
	}
	return m.process.pid()
}

// Kill is kill -9 of a node or the balancer; it stays down until
// StartMember.
func (c *Cluster) Kill(_ context.Context, name string) error {
	m, err := c.member(name)
	if err != nil {
		return err
	}
	return m.process.kill()
}

// StartMember starts a killed or drained member again, on its old port,
// and waits until it is ready.
func (c *Cluster) StartMember(ctx context.Context, name string) error {
	m, err := c.member(name)
	if err != nil {
		return err
	}
	return c.startMember(ctx, m)
}

// Restart is a kill -9 followed by a start.
func (c *Cluster) Restart(ctx context.Context, name string) error {
	if err := c.Kill(ctx, name); err != nil {
		return err
	}
	return c.StartMember(ctx, name)
}

// Pause freezes a member, a node, the balancer or Redis (SIGSTOP): its
// sockets stay open and nothing is processed. For the embedded or an
// external Redis, every link to it is held instead.
func (c *Cluster) Pause(_ context.Context, name string) error { return c.pause(name, true) }

// Resume ends a Pause (SIGCONT).
func (c *Cluster) Resume(_ context.Context, name string) error { return c.pause(name, false) }

func (c *Cluster) pause(name string, on bool) error {
	if name == scenarios.RedisName {
		if c.redis.server != nil {
			return c.redis.pause(on)
		}
		c.redisPaused = on
		for _, link := range c.redisLinks {
			link.Block(Upstream, on)
			link.Block(Downstream, on)
		}
		return nil
	}
	m, err := c.member(name)
	if err != nil {
		return err
	}
	return m.process.pause(on)
}

// Stop stops a node or the balancer gracefully (SIGTERM: a node drains,
// telling its clients to reconnect elsewhere, then exits) and waits for
// its exit, SIGKILL after drainExitWait; it stays down until StartMember.
func (c *Cluster) Stop(_ context.Context, name string) error {
	m, err := c.member(name)
	if err != nil {
		return err
	}
	if err := m.process.stop(syscall.SIGTERM, drainExitWait); err != nil {
		return err
	}
	if m != c.router && m.process.exitCode() == 1 {
		// `chatlab node` exits 1 when its drain overran --drain-timeout.
		return fmt.Errorf("%w: %s (its log: %s)", ErrDrainOverran, name, m.process.logPath)
	}
	return nil
}

// ErrDrainOverran is Stop's error when the node was still waiting for
// connections to go when its drain timeout passed: a drain must finish
// within its timeout.
var ErrDrainOverran = errors.New("a node's drain did not finish within its drain timeout")

// Drain takes a node out of the balancer's rotation: it gets no new
// clients (its own stay until it stops). Undrain puts it back.
func (c *Cluster) Drain(ctx context.Context, name string) error {
	if _, ok := c.nodes[name]; !ok {
		return fmt.Errorf("local: drain needs a node: %q", name)
	}
	return c.balancerCall(ctx, name, "drain")
}

// Undrain returns a drained node to the balancer's rotation.
func (c *Cluster) Undrain(ctx context.Context, name string) error {
	return c.balancerCall(ctx, name, "undrain")
}

func (c *Cluster) balancerCall(ctx context.Context, backend, action string) error {
	if c.router == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, stateWait)
	defer cancel()
	if err := admin.Act(ctx, c.router.admin, "/backends/"+backend+"/"+action, c.adminToken); err != nil {
		return fmt.Errorf("balancer %s %s: %w", action, backend, err)
	}
	return nil
}

// StopRedis takes Redis down hard; persist says whether its data is there
// when StartRedis brings it back.
func (c *Cluster) StopRedis(_ context.Context, persist bool) error { return c.redis.stop(persist) }

// KillPubSub closes every pub/sub connection at Redis (CLIENT KILL TYPE
// pubsub): the nodes' broker links lose their subscriptions while Redis
// and their command connections stay up.
func (c *Cluster) KillPubSub(ctx context.Context) error { return c.redis.killPubSub(ctx) }

// RefusePubSub kills every pub/sub connection at Redis and goes on killing
// them as they come back until AdmitPubSub: the nodes' broker links stay
// down while their command connections work.
func (c *Cluster) RefusePubSub(ctx context.Context) error { return c.redis.refusePubSub(ctx) }

// AdmitPubSub ends RefusePubSub.
func (c *Cluster) AdmitPubSub(context.Context) error {
	c.redis.admitPubSub()
	return nil
}

// StartRedis brings Redis back on its old port.
func (c *Cluster) StartRedis(context.Context) error { return c.redis.start() }

// FailoverRedis, on a Redis Cluster, freezes the replicas of the master
// that owns room's slot for lag, kills that master and lets the replicas
// go, so that the cluster promotes one.
func (c *Cluster) FailoverRedis(ctx context.Context, room string, lag time.Duration) error {
	return c.redis.failover(ctx, room, lag)
}

// ReshardRedis, on a Redis Cluster, moves room's slot with its keys to the
// next master.
func (c *Cluster) ReshardRedis(ctx context.Context, room string) error {
	return c.redis.reshard(ctx, room)
}

// RestartRedisMasters starts the masters FailoverRedis killed again; each
// rejoins as a replica.
func (c *Cluster) RestartRedisMasters(context.Context) error { return c.redis.restartKilled() }

// RestartRedis is StopRedis then StartRedis.
func (c *Cluster) RestartRedis(ctx context.Context, persist bool) error {
	if err := c.StopRedis(ctx, persist); err != nil {
		return err
	}
	return c.StartRedis(ctx)
}

// State is a member's GET /state, as JSON.
func (c *Cluster) State(ctx context.Context, name string) (json.RawMessage, error) {
	m, err := c.member(name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, stateWait)
	defer cancel()
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+m.admin+"/state", nil)
	if err != nil {
		return nil, err
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		return nil, err
	}
	defer response.Body.Close()
	body, err := io.ReadAll(io.LimitReader(response.Body, stateBytesMax))
	if err != nil {
		return nil, err
	}
	if response.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s /state: %s", name, response.Status)
	}
	return body, nil
}

// stateBytesMax bounds one /state answer.
const stateBytesMax = 16 << 20

// Close stops every process, the proxies and Redis. The run directory is
// kept.
func (c *Cluster) Close() {
	if c.dashboard != nil {
		_ = c.dashboard.process.kill()
	}
	if c.router != nil {
		_ = c.router.process.kill()
	}
	for _, name := range c.order {
		if m, ok := c.nodes[name]; ok {
			_ = m.process.kill()
		}
	}
	for _, links := range []map[string]*FaultProxy{c.balancerLinks, c.redisLinks} {
		for _, name := range c.order {
			if link, ok := links[name]; ok {
				link.Close()
			}
		}
	}
	if c.redis != nil {
		c.redis.close()
	}
}
