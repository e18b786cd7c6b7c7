// Package docker is the chaos lab's docker target: the chatlab:dev image
// (nodes and the balancer) and a Redis image in containers, started and
// broken through testcontainers-go and the Docker API: kill -9, stop and
// start, pause and unpause, and network disconnect and connect for
// partitions. What Docker cannot do (a one-way partition, delay and loss
// on a link, refusing pub/sub for a while, a Redis Cluster failover) is an
// *UnsupportedError. Nodes sit on two networks, one shared with Redis and one
// with the balancer, so that a node can be cut from either alone.
//
// No image is pulled: build chatlab:dev and chatlab-redis:dev first
// (`make images`). The testcontainers reaper is turned off
// (TESTCONTAINERS_RYUK_DISABLED=true), so Close removes what Start made.
package docker

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	goredis "github.com/redis/go-redis/v9"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"chatlab/scenarios"
	"chatlab/system/admin"
	"chatlab/system/balance"
	"chatlab/system/node"
)

// Defaults and limits.
const (
	imageDefault      = "chatlab:dev"
	redisImageDefault = "chatlab-redis:dev"
	nodesMax          = 16
	// servicePort is where nodes and the balancer listen inside their
	// containers; Docker maps it to a free host port.
	servicePort = "8080/tcp"
	// adminPort is where they serve /state, /metrics and the drain API:
	// every interface of the container (the lab reaches it through
	// Docker's port mapping), never the service port.
	adminPort   = "9090/tcp"
	adminListen = ":9090"
	// adminTokenPath holds the balancer's admin token in its container.
	adminTokenPath = "/admin-token"
	redisPort      = "6379/tcp"
	// startWait bounds one container's start up to its readiness answer.
	startWait = 60 * time.Second
	// stopWait is what a graceful stop gives a container before SIGKILL.
	stopWait = 10 * time.Second
	// stateWait bounds one GET /state or one call to the balancer's drain
	// API.
	stateWait     = 5 * time.Second
	stateBytesMax = 16 << 20
)

// Environment testcontainers reads once, at its first call, so Start and
// Available set it before that (unless the user did).
const (
	// ryukEnv turns the reaper off: Close removes what Start made.
	ryukEnv = "TESTCONTAINERS_RYUK_DISABLED"
	// hostOverrideEnv says where published ports are reached. Inside a
	// container testcontainers guesses the default gateway, which is wrong
	// when dockerd runs in that same container (this lab's CI); a daemon on
	// a local socket publishes on this machine, so 127.0.0.1 is right.
	hostOverrideEnv = "TESTCONTAINERS_HOST_OVERRIDE"
)

// Config describes a docker cluster.
type Config struct {
	Nodes    []string       // default n1, n2, n3
	Delivery node.Delivery  // default recover
	Policy   balance.Policy // default least-conn
	// Image runs the nodes and the balancer (default chatlab:dev);
	// RedisImage runs Redis (default chatlab-redis:dev).
	Image      string
	RedisImage string
	// NodeArgs and BalancerArgs are extra flags for every node and for the
	// balancer.
	NodeArgs     []string
	BalancerArgs []string
	// NoBalancer leaves the balancer out.
	NoBalancer bool
	// Logs, when set, receives testcontainers' own log lines.
	Logs io.Writer
}

// Cluster is a running docker cluster.
type Cluster struct {
	cfg        Config
	adminToken string
	docker     *testcontainers.DockerClient
	redisNet   *testcontainers.DockerNetwork
	frontNet   *testcontainers.DockerNetwork
	redis      *testcontainers.DockerContainer
	nodes      map[string]*testcontainers.DockerContainer
	router     *testcontainers.DockerContainer
	cut        map[string]bool // "n1-redis", "balancer-n1": disconnected links
	order      []string
	logger     tclog.Logger
	redisOpts  *goredis.Options
}

// Available reports whether a Docker daemon answers; an error says why
// not (tests skip with it).
func Available(ctx context.Context) error {
	configureTestcontainers()
	docker, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return err
	}
	defer docker.Close()
	_, err = docker.Ping(ctx, client.PingOptions{})
	return err
}

func configureTestcontainers() {
	if os.Getenv(ryukEnv) == "" {
		os.Setenv(ryukEnv, "true")
	}
	dockerHost := os.Getenv("DOCKER_HOST")
	if os.Getenv(hostOverrideEnv) == "" && (dockerHost == "" || strings.HasPrefix(dockerHost, "unix://")) {
		os.Setenv(hostOverrideEnv, "127.0.0.1")
	}
}

// Start creates the two networks, Redis (AOF on), the nodes and the
// balancer, and returns once every one answers ready. On error everything
// made is removed.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	configureTestcontainers()
	c := &Cluster{cfg: cfg, nodes: map[string]*testcontainers.DockerContainer{}, cut: map[string]bool{}, order: cfg.Nodes,
		logger: tclog.NewNoopLogger()}
	if cfg.Logs != nil {
		c.logger = writerLogger{cfg.Logs}
	}
	if err := c.start(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (cfg Config) withDefaults() (Config, error) {
	if len(cfg.Nodes) == 0 {
		cfg.Nodes = []string{"n1", "n2", "n3"}
	}
	if len(cfg.Nodes) > nodesMax {
		return cfg, fmt.Errorf("docker: %d nodes, at most %d", len(cfg.Nodes), nodesMax)
	}
	for _, name := range cfg.Nodes {
		if name == scenarios.BalancerName || name == scenarios.RedisName || strings.Contains(name, "-") {
			return cfg, fmt.Errorf("docker: node name %q is reserved or holds '-'", name)
		}
	}
	if cfg.Delivery == "" {
		cfg.Delivery = node.Recover
	}
	if cfg.Policy == "" {
		cfg.Policy = balance.LeastConnections
	}
	if cfg.Image == "" {
		cfg.Image = imageDefault
	}
	if cfg.RedisImage == "" {
		cfg.RedisImage = redisImageDefault
	}
	return cfg, nil
}

func (c *Cluster) start(ctx context.Context) error {
	var err error
	if c.docker, err = testcontainers.NewDockerClientWithOpts(ctx); err != nil {
		return fmt.Errorf("docker: %w", err)
	}
	if c.redisNet, err = tcnetwork.New(ctx); err != nil {
		return fmt.Errorf("docker: redis network: %w", err)
	}
	if c.frontNet, err = tcnetwork.New(ctx); err != nil {
		return fmt.Errorf("docker: front network: %w", err)
	}
	c.redis, err = c.run(ctx, c.cfg.RedisImage, scenarios.RedisName, []*testcontainers.DockerNetwork{c.redisNet}, []string{redisPort},
		wait.ForListeningPort(redisPort).SkipInternalCheck(), nil,
		"redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--appendonly", "yes", "--appendfsync", "always")
	if err != nil {
		return err
	}
	if err := c.waitRedis(ctx); err != nil {
		return err
	}
	var backends []string
	for _, name := range c.order {
		args := append([]string{"node", "--id", name, "--listen", ":8080", "--admin-listen", adminListen, "--redis", "redis://" + scenarios.RedisName + ":6379/0",
			"--delivery", string(c.cfg.Delivery), "--auth", "off"}, c.cfg.NodeArgs...)
		c.nodes[name], err = c.run(ctx, c.cfg.Image, name, []*testcontainers.DockerNetwork{c.redisNet, c.frontNet}, []string{servicePort, adminPort},
			wait.ForHTTP("/readyz").WithPort(servicePort), nil, args...)
		if err != nil {
			return err
		}
		backends = append(backends, name+"="+name+":8080")
	}
	if c.cfg.NoBalancer {
		return nil
	}
	c.adminToken = rand.Text()
	args := append([]string{"balancer", "--listen", ":8080", "--admin-listen", adminListen, "--admin-token-file", adminTokenPath,
		"--backends", strings.Join(backends, ","), "--policy", string(c.cfg.Policy)}, c.cfg.BalancerArgs...)
	token := testcontainers.WithFiles(testcontainers.ContainerFile{Reader: strings.NewReader(c.adminToken + "\n"),
		ContainerFilePath: adminTokenPath, FileMode: 0o444})
	c.router, err = c.run(ctx, c.cfg.Image, scenarios.BalancerName, []*testcontainers.DockerNetwork{c.frontNet}, []string{servicePort, adminPort},
		wait.ForHTTP("/healthz").WithPort(servicePort), []testcontainers.ContainerCustomizer{token}, args...)
	return err
}

// run starts one container on the networks (aliased by name), with its
// ports published to the host, and waits on ready: scratch images have no
// shell, so readiness is asked over HTTP, not checked inside.
func (c *Cluster) run(ctx context.Context, image, name string, networks []*testcontainers.DockerNetwork, ports []string,
	ready wait.Strategy, extra []testcontainers.ContainerCustomizer, cmd ...string) (*testcontainers.DockerContainer, error) {
	options := append([]testcontainers.ContainerCustomizer{
		testcontainers.WithCmd(cmd...),
		testcontainers.WithExposedPorts(ports...),
		testcontainers.WithWaitStrategyAndDeadline(startWait, ready),
		testcontainers.WithLogger(c.logger),
	}, extra...)
	for _, nw := range networks {
		options = append(options, tcnetwork.WithNetwork([]string{name}, nw))
	}
	container, err := testcontainers.Run(ctx, image, options...)
	if err != nil {
		if container != nil {
			_ = container.Terminate(context.WithoutCancel(ctx))
		}
		return nil, fmt.Errorf("docker: start %s (%s): %w", name, image, err)
	}
	return container, nil
}

// waitRedis pings Redis through its mapped port until it answers.
func (c *Cluster) waitRedis(ctx context.Context) error {
	endpoint, err := c.redis.PortEndpoint(ctx, redisPort, "")
	if err != nil {
		return err
	}
	c.redisOpts = &goredis.Options{Addr: endpoint, DisableIdentity: true}
	rdb := goredis.NewClient(c.redisOpts)
	defer rdb.Close()
	deadline := time.Now().Add(startWait)
	for {
		err := rdb.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("docker: redis never answered PING: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *Cluster) container(name string) (*testcontainers.DockerContainer, error) {
	switch {
	case name == scenarios.BalancerName && c.router != nil:
		return c.router, nil
	case name == scenarios.RedisName:
		return c.redis, nil
	case c.nodes[name] != nil:
		return c.nodes[name], nil
	}
	return nil, fmt.Errorf("docker: no member %q", name)
}

// Nodes names the nodes in configured order.
func (c *Cluster) Nodes() []string { return slices.Clone(c.order) }

// endpoint is a member's host:port as published now (it changes across a
// stop and start).
func (c *Cluster) endpoint(ctx context.Context, name string) (string, error) {
	container, err := c.container(name)
	if err != nil {
		return "", err
	}
	return container.PortEndpoint(ctx, servicePort, "")
}

// AdminEndpoint is where a node or the balancer serves /state, /metrics
// (and the balancer its drain API) on the host, host:port.
func (c *Cluster) AdminEndpoint(ctx context.Context, name string) (string, error) {
	container, err := c.container(name)
	if err != nil {
		return "", err
	}
	return container.PortEndpoint(ctx, adminPort, "")
}

// AdminToken is the bearer token the balancer's drain API asks for.
func (c *Cluster) AdminToken() string { return c.adminToken }

// BalancerURL is the balancer's WebSocket endpoint on the host.
func (c *Cluster) BalancerURL(ctx context.Context) (string, error) {
	endpoint, err := c.endpoint(ctx, scenarios.BalancerName)
	return "ws://" + endpoint + "/ws", err
}

// NodeURLs are the nodes' WebSocket endpoints on the host, in configured
// order (a stopped node's is left out).
func (c *Cluster) NodeURLs(ctx context.Context) []string {
	urls := make([]string, 0, len(c.order))
	for _, name := range c.order {
		if endpoint, err := c.endpoint(ctx, name); err == nil {
			urls = append(urls, "ws://"+endpoint+"/ws")
		}
	}
	return urls
}

// Kill is kill -9 of a member's container (it stays, stopped).
func (c *Cluster) Kill(ctx context.Context, name string) error {
	container, err := c.container(name)
	if err != nil {
		return err
	}
	_, err = c.docker.ContainerKill(ctx, container.GetContainerID(), client.ContainerKillOptions{Signal: "SIGKILL"})
	return err
}

// StartMember starts a killed or stopped member and waits until it is
// ready again (testcontainers re-runs the wait strategy).
func (c *Cluster) StartMember(ctx context.Context, name string) error {
	container, err := c.container(name)
	if err != nil {
		return err
	}
	if err := container.Start(ctx); err != nil {
		return fmt.Errorf("docker: start %s: %w", name, err)
	}
	if name == scenarios.RedisName {
		return c.waitRedis(ctx)
	}
	return nil
}

// Restart is a kill -9 followed by a start.
func (c *Cluster) Restart(ctx context.Context, name string) error {
	if err := c.Kill(ctx, name); err != nil {
		return err
	}
	return c.StartMember(ctx, name)
}

// Stop stops a member gracefully (SIGTERM: a node drains, telling its
// clients to reconnect elsewhere, then exits), SIGKILL after stopWait; it
// stays down until StartMember.
func (c *Cluster) Stop(ctx context.Context, name string) error {
	container, err := c.container(name)
	if err != nil {
		return err
	}
	timeout := stopWait
	return container.Stop(ctx, &timeout)
}

// Pause freezes a member's processes, a node's, the balancer's or Redis's
// (the cgroup freezer: SIGSTOP for a whole container): its sockets stay
// open and nothing is processed.
func (c *Cluster) Pause(ctx context.Context, name string) error {
	container, err := c.container(name)
	if err != nil {
		return err
	}
	_, err = c.docker.ContainerPause(ctx, container.GetContainerID(), client.ContainerPauseOptions{})
	return err
}

// Resume ends a Pause.
func (c *Cluster) Resume(ctx context.Context, name string) error {
	container, err := c.container(name)
	if err != nil {
		return err
	}
	_, err = c.docker.ContainerUnpause(ctx, container.GetContainerID(), client.ContainerUnpauseOptions{})
	return err
}

// link resolves "node-redis" or "balancer-node" (either order) to the node
// and the network that carries it.
func (c *Cluster) link(a, b string) (nodeName string, nw *testcontainers.DockerNetwork, key string, err error) {
	for _, pair := range [][2]string{{a, b}, {b, a}} {
		if c.nodes[pair[0]] == nil {
			continue
		}
		switch pair[1] {
		case scenarios.RedisName:
			return pair[0], c.redisNet, pair[0] + "-" + scenarios.RedisName, nil
		case scenarios.BalancerName:
			return pair[0], c.frontNet, scenarios.BalancerName + "-" + pair[0], nil
		}
	}
	return "", nil, "", fmt.Errorf("docker: no link %s-%s: a link joins a node to %s or %s", a, b, scenarios.RedisName, scenarios.BalancerName)
}

// Partition disconnects the node of link a-b from that link's network.
// Docker cuts both ways only: a one-way partition is unsupported (the
// local target's fault proxies do those).
func (c *Cluster) Partition(ctx context.Context, a, b string, direction scenarios.Direction) error {
	if direction != scenarios.Both && direction != "" {
		return errOneWay(direction)
	}
	nodeName, nw, key, err := c.link(a, b)
	if err != nil || c.cut[key] {
		return err
	}
	_, err = c.docker.NetworkDisconnect(ctx, nw.ID, client.NetworkDisconnectOptions{Container: c.nodes[nodeName].GetContainerID(), Force: true})
	if err != nil {
		return fmt.Errorf("docker: disconnect %s: %w", key, err)
	}
	c.cut[key] = true
	return nil
}

// Heal reconnects the link a-b, with the node's alias again (Docker drops
// it on disconnect).
func (c *Cluster) Heal(ctx context.Context, a, b string) error {
	nodeName, nw, key, err := c.link(a, b)
	if err != nil || !c.cut[key] {
		return err
	}
	_, err = c.docker.NetworkConnect(ctx, nw.ID, client.NetworkConnectOptions{Container: c.nodes[nodeName].GetContainerID(),
		EndpointConfig: &network.EndpointSettings{Aliases: []string{nodeName}}})
	if err != nil {
		return fmt.Errorf("docker: reconnect %s: %w", key, err)
	}
	delete(c.cut, key)
	return nil
}

// HealAll reconnects every cut link.
func (c *Cluster) HealAll(ctx context.Context) error {
	var errs []error
	for _, name := range c.order {
		for _, other := range []string{scenarios.RedisName, scenarios.BalancerName} {
			errs = append(errs, c.Heal(ctx, name, other))
		}
	}
	return errors.Join(errs...)
}

// StopRedis takes Redis down hard (kill -9). With persist its AOF (fsync
// on every write) brings every write back at StartRedis; without, it is
// flushed first (the FLUSHALL is in the AOF too), so it comes back empty,
// as a Redis with no persistence.
func (c *Cluster) StopRedis(ctx context.Context, persist bool) error {
	if !persist {
		rdb := goredis.NewClient(c.redisOpts)
		err := rdb.FlushAll(ctx).Err()
		rdb.Close()
		if err != nil {
			return fmt.Errorf("docker: flush redis: %w", err)
		}
	}
	return c.Kill(ctx, scenarios.RedisName)
}

// StartRedis starts Redis's container again and waits until it answers.
func (c *Cluster) StartRedis(ctx context.Context) error {
	return c.StartMember(ctx, scenarios.RedisName)
}

// RestartRedis is StopRedis then StartRedis.
func (c *Cluster) RestartRedis(ctx context.Context, persist bool) error {
	if err := c.StopRedis(ctx, persist); err != nil {
		return err
	}
	return c.StartRedis(ctx)
}

// KillPubSub has Redis close every pub/sub connection (CLIENT KILL TYPE
// pubsub): the nodes' broker links lose their subscriptions while Redis
// and their command connections stay up.
func (c *Cluster) KillPubSub(ctx context.Context) error {
	rdb := goredis.NewClient(c.redisOpts)
	defer rdb.Close()
	if err := rdb.ClientKillByFilter(ctx, "TYPE", "pubsub").Err(); err != nil {
		return fmt.Errorf("docker: client kill type pubsub: %w", err)
	}
	return nil
}

// Drain takes a node out of the balancer's rotation: it gets no new
// clients (its own stay until it stops). Undrain puts it back.
func (c *Cluster) Drain(ctx context.Context, name string) error {
	return c.balancerCall(ctx, name, "drain")
}

// Undrain returns a drained node to the balancer's rotation.
func (c *Cluster) Undrain(ctx context.Context, name string) error {
	return c.balancerCall(ctx, name, "undrain")
}

// balancerCall asks the balancer's drain API to drain or undrain a node.
func (c *Cluster) balancerCall(ctx context.Context, backend, action string) error {
	if c.nodes[backend] == nil {
		return fmt.Errorf("docker: %s needs a node: %q", action, backend)
	}
	addr, err := c.AdminEndpoint(ctx, scenarios.BalancerName)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, stateWait)
	defer cancel()
	if err := admin.Act(ctx, addr, "/backends/"+backend+"/"+action, c.adminToken); err != nil {
		return fmt.Errorf("balancer %s %s: %w", action, backend, err)
	}
	return nil
}

// State is a node's or the balancer's GET /state, as JSON.
func (c *Cluster) State(ctx context.Context, name string) (json.RawMessage, error) {
	endpoint, err := c.AdminEndpoint(ctx, name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, stateWait)
	defer cancel()
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+endpoint+"/state", nil)
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

// Logs returns a member's container output.
func (c *Cluster) Logs(ctx context.Context, name string) (string, error) {
	container, err := c.container(name)
	if err != nil {
		return "", err
	}
	reader, err := container.Logs(ctx)
	if err != nil {
		return "", err
	}
	defer reader.Close()
	data, err := io.ReadAll(io.LimitReader(reader, stateBytesMax))
	return string(data), err
}

// Close removes every container and both networks.
func (c *Cluster) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), startWait)
	defer cancel()
	members := []*testcontainers.DockerContainer{c.router}
	for _, name := range c.order {
		members = append(members, c.nodes[name])
	}
	members = append(members, c.redis)
	for _, container := range members {
		if container != nil {
			_ = container.Terminate(ctx)
		}
	}
	for _, nw := range []*testcontainers.DockerNetwork{c.frontNet, c.redisNet} {
		if nw != nil {
			_ = nw.Remove(ctx)
		}
	}
	if c.docker != nil {
		_ = c.docker.Close()
	}
}

// writerLogger adapts an io.Writer to testcontainers' logger.
type writerLogger struct{ w io.Writer }

func (l writerLogger) Printf(format string, args ...any) { fmt.Fprintf(l.w, format+"\n", args...) }
