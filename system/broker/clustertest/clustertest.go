// Package clustertest starts a real Redis Cluster of redis-server processes
// on loopback ports, for tests and the lab: masters and their replicas,
// created with `redis-cli --cluster create`, ready once every node says
// cluster_state:ok and agrees on who serves every slot.
package clustertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config shapes a cluster. Zero values take the defaults.
type Config struct {
	// Masters is how many shards the slots are spread over (default 3;
	// redis-cli wants at least 3).
	Masters int
	// ReplicasPerMaster (default 1; -1: none).
	ReplicasPerMaster int
	// NodeTimeoutMs is cluster-node-timeout: how long a master may be
	// unreachable before its replica takes over (default 1000).
	NodeTimeoutMs int
	// Dir holds each node's config, data and log (required).
	Dir string
	// Server and CLI are the binaries (default redis-server, redis-cli on
	// PATH).
	Server, CLI string
}

// readyWait bounds how long the cluster may take to form.
const readyWait = 60 * time.Second

// pollInterval paces the polls of a forming cluster.
const pollInterval = 50 * time.Millisecond

// Node is one redis-server of the cluster.
type Node struct {
	// Addr is its client address, 127.0.0.1:PORT.
	Addr    string
	dir     string
	command *exec.Cmd
	exited  chan struct{}
	args    []string
	server  string
}

// Cluster is a running Redis Cluster.
type Cluster struct {
	Nodes []*Node
	mu    sync.Mutex
}

// ErrNoBinaries: redis-server or redis-cli is not installed.
var ErrNoBinaries = errors.New("redis-server and redis-cli are needed for a Redis Cluster (apt-get install -y redis-server)")

// Start starts the nodes, creates the cluster and waits until it serves
// every slot. On failure nothing it started is left running.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	cfg = withDefaults(cfg)
	server, errServer := exec.LookPath(cfg.Server)
	cli, errCLI := exec.LookPath(cfg.CLI)
	if errServer != nil || errCLI != nil {
		return nil, ErrNoBinaries
	}
	if cfg.Dir == "" {
		return nil, errors.New("cluster: Config.Dir is required")
	}
	replicas := max(cfg.ReplicasPerMaster, 0)
	count := cfg.Masters * (1 + replicas)
	c := &Cluster{}
	for i := range count {
		node, err := startNodeWithRetries(ctx, server, filepath.Join(cfg.Dir, "node"+strconv.Itoa(i)), cfg.NodeTimeoutMs)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.Nodes = append(c.Nodes, node)
	}
	if err := c.create(ctx, cli, replicas); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// StartT starts a cluster for a test, skips the test when the binaries are
// missing and stops the cluster when the test ends.
func StartT(t testing.TB, cfg Config) *Cluster {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyWait)
	defer cancel()
	c, err := Start(ctx, cfg)
	if errors.Is(err, ErrNoBinaries) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("start redis cluster: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func withDefaults(cfg Config) Config {
	if cfg.Masters == 0 {
		cfg.Masters = 3
	}
	if cfg.ReplicasPerMaster == 0 {
		cfg.ReplicasPerMaster = 1
	}
	if cfg.NodeTimeoutMs == 0 {
		cfg.NodeTimeoutMs = 1000
	}
	if cfg.Server == "" {
		cfg.Server = "redis-server"
	}
	if cfg.CLI == "" {
		cfg.CLI = "redis-cli"
	}
	return cfg
}

// startAttemptsMax bounds the tries to start a node: a free port found
// for it may be taken by another process before redis-server binds it.
const startAttemptsMax = 3

// startNodeWithRetries starts a node and waits until it answers, on new
// ports when it exits (its port taken meanwhile).
func startNodeWithRetries(ctx context.Context, server, dir string, nodeTimeoutMs int) (*Node, error) {
	var err error
	for range startAttemptsMax {
		var node *Node
		if node, err = startNode(server, dir, nodeTimeoutMs); err != nil {
			return nil, err
		}
		if err = waitPing(ctx, node); err == nil {
			return node, nil
		}
		node.Kill()
		if ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

// startNode starts one cluster-enabled redis-server without persistence on
// free ports (client and cluster bus).
func startNode(server, dir string, nodeTimeoutMs int) (*Node, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	busPort, err := freePort()
	if err != nil {
		return nil, err
	}
	node := &Node{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir, server: server,
		args: []string{"--port", strconv.Itoa(port), "--cluster-port", strconv.Itoa(busPort), "--bind", "127.0.0.1",
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", strconv.Itoa(nodeTimeoutMs), "--dir", dir,
			"--save", "", "--appendonly", "no", "--logfile", filepath.Join(dir, "redis.log"),
			// A replica syncs at once rather than 5 s later: until it has,
			// it cannot take over from its master.
			"--repl-diskless-sync-delay", "0"}}
	return node, node.start()
}

func (n *Node) start() error {
	n.command = exec.Command(n.server, n.args...)
	if err := n.command.Start(); err != nil {
		return fmt.Errorf("start redis-server %s: %w", n.Addr, err)
	}
	n.exited = make(chan struct{})
	command, exited := n.command, n.exited
	go func() {
		_ = command.Wait() // killed or stopped: the log says why
		close(exited)
	}()
	return nil
}

// Kill stops the node at once (SIGKILL), as a crash does.
func (n *Node) Kill() {
	if n.command == nil {
		return
	}
	_ = n.command.Process.Kill() // already gone is as good
	<-n.exited
	n.command = nil
}

// Pause freezes (SIGSTOP) or continues (SIGCONT) the node: frozen, it
// neither answers nor replicates, yet its connections stay open.
func (n *Node) Pause(on bool) error {
	if n.command == nil {
		return fmt.Errorf("redis-server %s is not running", n.Addr)
	}
	signal := syscall.SIGCONT
	if on {
		signal = syscall.SIGSTOP
	}
	return n.command.Process.Signal(signal)
}

// DropReplicas closes the node's connections to its replicas (CLIENT KILL
// TYPE replica). A replica frozen by Pause cannot dial again, so until it
// is continued the node's writes reach no replica.
func (n *Node) DropReplicas(ctx context.Context) error {
	client := n.client()
	defer client.Close()
	return client.ClientKillByFilter(ctx, "TYPE", "replica").Err()
}

// Restart starts a killed node again on its ports, with its cluster
// config: it rejoins the cluster (a master whose replica took over comes
// back as that replica's replica). A running node is left alone.
func (n *Node) Restart() error {
	if n.command != nil {
		return nil
	}
	return n.start()
}

// Running reports whether the node's process is up.
func (n *Node) Running() bool { return n.command != nil }

// Log is the node's log so far, for a failure's message.
func (n *Node) Log() string {
	data, err := os.ReadFile(filepath.Join(n.dir, "redis.log"))
	if err != nil {
		return err.Error()
	}
	return string(data)
}

// Addrs are the client addresses of every node.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, node := range c.Nodes {
		addrs[i] = node.Addr
	}
	return addrs
}

// Close kills every node.
func (c *Cluster) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, node := range c.Nodes {
		node.Kill()
	}
}

func (c *Cluster) create(ctx context.Context, cli string, replicas int) error {
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	var output bytes.Buffer
	command := exec.CommandContext(ctx, cli, args...)
	command.Stdout, command.Stderr = &output, &output
	if err := command.Run(); err != nil {
		return fmt.Errorf("redis-cli --cluster create: %w\n%s", err, output.String())
	}
	return c.WaitReady(ctx)
}

// WaitReady waits until every live node says cluster_state:ok, every one
// maps each slot to the same master, and every replica is in sync with its
// master (so that it can take over).
func (c *Cluster) WaitReady(ctx context.Context) error {
	var last string
	for {
		ok, why := c.ready(ctx)
		if ok {
			return nil
		}
		last = why
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis cluster not ready: %s", last)
		case <-time.After(pollInterval):
		}
	}
}

func (c *Cluster) ready(ctx context.Context) (bool, string) {
	var reference string
	for _, node := range c.Nodes {
		if node.command == nil {
			continue
		}
		client := node.client()
		info, err := client.ClusterInfo(ctx).Result()
		if err != nil {
			client.Close()
			return false, fmt.Sprintf("%s: %v", node.Addr, err)
		}
		if !strings.Contains(info, "cluster_state:ok") {
			client.Close()
			return false, node.Addr + " says the cluster is not ok"
		}
		replication, err := client.Info(ctx, "replication").Result()
		if err != nil {
			client.Close()
			return false, fmt.Sprintf("%s: %v", node.Addr, err)
		}
		if strings.Contains(replication, "role:slave") && !strings.Contains(replication, "master_link_status:up") {
			// A replica that never synced cannot be promoted.
			client.Close()
			return false, node.Addr + " is a replica not yet in sync with its master"
		}
		slots, err := client.ClusterSlots(ctx).Result()
		client.Close()
		if err != nil {
			return false, fmt.Sprintf("%s: %v", node.Addr, err)
		}
		view := describeSlots(slots)
		if reference == "" {
			reference = view
		} else if view != reference {
			return false, node.Addr + " maps slots differently from the others"
		}
	}
	return true, ""
}

// describeSlots is a slot map as text: each range and its master, sorted.
func describeSlots(slots []redis.ClusterSlot) string {
	lines := make([]string, 0, len(slots))
	for _, slot := range slots {
		master := ""
		if len(slot.Nodes) > 0 {
			master = slot.Nodes[0].Addr
		}
		lines = append(lines, fmt.Sprintf("%05d-%05d %s", slot.Start, slot.End, master))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// Master is the node serving key's slot as master, by asking the cluster.
func (c *Cluster) Master(ctx context.Context, key string) (*Node, error) {
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.liveAddrs(), DisableIdentity: true})
	defer client.Close()
	master, err := client.MasterForKey(ctx, key)
	if err != nil {
		return nil, err
	}
	addr := master.Options().Addr
	for _, node := range c.Nodes {
		if node.Addr == addr {
			return node, nil
		}
	}
	return nil, fmt.Errorf("master %s of key %q is not one of the cluster's nodes", addr, key)
}

// ReplicasOf are the nodes replicating master, as master says.
func (c *Cluster) ReplicasOf(ctx context.Context, master *Node) ([]*Node, error) {
	client := master.client()
	defer client.Close()
	info, err := client.Info(ctx, "replication").Result()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", master.Addr, err)
	}
	var replicas []*Node
	for _, line := range strings.Split(info, "\n") {
		// slave0:ip=127.0.0.1,port=40123,state=online,offset=...
		if !strings.HasPrefix(line, "slave") || !strings.Contains(line, ":ip=") {
			continue
		}
		var host, port string
		for _, field := range strings.Split(strings.TrimSpace(line[strings.Index(line, ":")+1:]), ",") {
			key, value, _ := strings.Cut(field, "=")
			switch key {
			case "ip":
				host = value
			case "port":
				port = value
			}
		}
		for _, node := range c.Nodes {
			if node.Addr == net.JoinHostPort(host, port) {
				replicas = append(replicas, node)
			}
		}
	}
	return replicas, nil
}

func (c *Cluster) liveAddrs() []string {
	var addrs []string
	for _, node := range c.Nodes {
		if node.command != nil {
			addrs = append(addrs, node.Addr)
		}
	}
	return addrs
}

// ForEachMaster runs f on a client of every master that is alive.
func (c *Cluster) ForEachMaster(ctx context.Context, f func(client *redis.Client) error) error {
	for _, node := range c.Nodes {
		if node.command == nil {
			continue
		}
		client := node.client()
		role, err := client.Do(ctx, "ROLE").Slice()
		if err == nil && len(role) > 0 && role[0] == "master" {
			err = f(client)
		}
		client.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", node.Addr, err)
		}
	}
	return nil
}

func (n *Node) client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: n.Addr, DisableIdentity: true, MaxRetries: -1})
}

func waitPing(ctx context.Context, node *Node) error {
	client := node.client()
	defer client.Close()
	for {
		err := client.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		select {
		case <-node.exited:
			return fmt.Errorf("redis-server %s exited: %s", node.Addr, node.Log())
		case <-ctx.Done():
			return fmt.Errorf("redis-server %s does not answer: %w", node.Addr, err)
		case <-time.After(pollInterval):
		}
	}
}

func freePort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port, nil
}

// MoveSlot moves slot, with its keys, from the master serving it to the
// next master (masters ordered by the start of the widest range each
// serves), as redis-cli --cluster reshard does: the destination IMPORTING,
// the source MIGRATING, the keys MIGRATEd in batches, then every master
// told the slot's new owner (CLUSTER SETSLOT NODE). Calls meanwhile meet
// ASK redirects or TRYAGAIN; once the source gives the slot up it answers
// MOVED and unsubscribes the slot's shard channels (SUNSUBSCRIBE). It
// returns once every live node maps the slot to its new owner.
func (c *Cluster) MoveSlot(ctx context.Context, slot int) (from, to *Node, err error) {
	masters, err := c.mastersInOrder(ctx)
	if err != nil {
		return nil, nil, err
	}
	for i, m := range masters {
		if m.serves(slot) {
			from, to = m.node, masters[(i+1)%len(masters)].node
		}
	}
	if from == nil {
		return nil, nil, fmt.Errorf("no master serves slot %d", slot)
	}
	source, destination := from.client(), to.client()
	defer source.Close()
	defer destination.Close()
	sourceID, err := source.ClusterMyID(ctx).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", from.Addr, err)
	}
	destinationID, err := destination.ClusterMyID(ctx).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", to.Addr, err)
	}
	if err := destination.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", sourceID).Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: setslot importing: %w", to.Addr, err)
	}
	if err := source.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", destinationID).Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: setslot migrating: %w", from.Addr, err)
	}
	host, port, err := net.SplitHostPort(to.Addr)
	if err != nil {
		return nil, nil, err
	}
	for {
		keys, err := source.ClusterGetKeysInSlot(ctx, slot, migrateBatch).Result()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: getkeysinslot: %w", from.Addr, err)
		}
		if len(keys) == 0 {
			break
		}
		args := []any{"MIGRATE", host, port, "", 0, migrateTimeout.Milliseconds(), "REPLACE", "KEYS"}
		for _, key := range keys {
			args = append(args, key)
		}
		if err := source.Do(ctx, args...).Err(); err != nil {
			return nil, nil, fmt.Errorf("%s: migrate to %s: %w", from.Addr, to.Addr, err)
		}
	}
	// The destination first, then the source, then the rest, as redis-cli
	// does: the slot is never served by nobody.
	for _, node := range append([]*Node{to, from}, c.otherMasters(masters, from, to)...) {
		client := node.client()
		err := client.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", destinationID).Err()
		client.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: setslot node: %w", node.Addr, err)
		}
	}
	return from, to, c.waitOwner(ctx, slot, to)
}

// migrateBatch and migrateTimeout: MoveSlot MIGRATEs up to this many keys
// a call, each call given this long.
const (
	migrateBatch   = 100
	migrateTimeout = 5 * time.Second
)

// master is a master and the slot ranges it serves.
type master struct {
	node   *Node
	ranges [][2]int
}

func (m master) serves(slot int) bool {
	for _, r := range m.ranges {
		if slot >= r[0] && slot <= r[1] {
			return true
		}
	}
	return false
}

// widest is the start of the master's widest range.
func (m master) widest() int {
	var best [2]int
	for _, r := range m.ranges {
		if r[1]-r[0] > best[1]-best[0] {
			best = r
		}
	}
	return best[0]
}

// mastersInOrder are the masters serving slots, by the start of the widest
// range each serves: the order of the shards as created, which single
// slots moved here and there do not change.
func (c *Cluster) mastersInOrder(ctx context.Context) ([]master, error) {
	live := c.liveAddrs()
	if len(live) == 0 {
		return nil, errors.New("no redis-server is running")
	}
	client := redis.NewClient(&redis.Options{Addr: live[0], DisableIdentity: true, MaxRetries: -1})
	slots, err := client.ClusterSlots(ctx).Result()
	client.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: cluster slots: %w", live[0], err)
	}
	byAddr := map[string]*master{}
	var masters []*master
	for _, s := range slots {
		if len(s.Nodes) == 0 {
			continue
		}
		addr := s.Nodes[0].Addr
		m := byAddr[addr]
		if m == nil {
			for _, node := range c.Nodes {
				if node.Addr == addr {
					m = &master{node: node}
				}
			}
			if m == nil {
				return nil, fmt.Errorf("master %s is not one of the cluster's nodes", addr)
			}
			byAddr[addr] = m
			masters = append(masters, m)
		}
		m.ranges = append(m.ranges, [2]int{s.Start, s.End})
	}
	slices.SortFunc(masters, func(a, b *master) int { return a.widest() - b.widest() })
	ordered := make([]master, len(masters))
	for i, m := range masters {
		ordered[i] = *m
	}
	return ordered, nil
}

func (c *Cluster) otherMasters(masters []master, from, to *Node) []*Node {
	var others []*Node
	for _, m := range masters {
		if m.node != from && m.node != to {
			others = append(others, m.node)
		}
	}
	return others
}

// waitOwner waits until every live node maps slot to owner.
func (c *Cluster) waitOwner(ctx context.Context, slot int, owner *Node) error {
	for {
		agreed, why := true, ""
		for _, node := range c.Nodes {
			if node.command == nil {
				continue
			}
			client := node.client()
			slots, err := client.ClusterSlots(ctx).Result()
			client.Close()
			if err != nil {
				agreed, why = false, fmt.Sprintf("%s: %v", node.Addr, err)
				break
			}
			if got := slotOwner(slots, slot); got != owner.Addr {
				agreed, why = false, fmt.Sprintf("%s maps slot %d to %q", node.Addr, slot, got)
				break
			}
		}
		if agreed {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("slot %d not on %s everywhere: %s", slot, owner.Addr, why)
		case <-time.After(pollInterval):
		}
	}
}

func slotOwner(slots []redis.ClusterSlot, slot int) string {
	for _, s := range slots {
		if slot >= s.Start && slot <= s.End && len(s.Nodes) > 0 {
			return s.Nodes[0].Addr
		}
	}
	return ""
}
