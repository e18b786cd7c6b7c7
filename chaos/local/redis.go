package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"chatlab/system/broker/clustertest"
	"chatlab/system/broker/redisscript"
)

// Redis kinds.
const (
	// RedisEmbedded is miniredis inside the runner process: no binary
	// needed, restarts keep or drop data on demand.
	RedisEmbedded = "embedded"
	// RedisServer is a redis-server child with AOF (appendfsync always), so
	// that a kill -9 keeps every acknowledged write when asked to.
	RedisServer = "redis-server"
	// RedisCluster is a Redis Cluster of redis-server children, 3 masters
	// and 3 replicas without persistence (clustertest, as the broker's
	// tests start it); the nodes run with --redis-cluster and reach it
	// directly, and faults name its masters (KillRedisMaster).
	RedisCluster = "cluster"
)

// DefaultRedis is the Redis a lab run uses when none is asked for: the
// real redis-server when one is installed, so that runs meet real Redis
// behaviour (TTLs, trimming, script semantics), else the embedded one.
func DefaultRedis(binary string) string {
	if binary == "" {
		binary = "redis-server"
	}
	if _, err := exec.LookPath(binary); err == nil {
		return RedisServer
	}
	return RedisEmbedded
}

// IsRedisURL reports whether a Redis choice names an external Redis
// (redis://host:port/db) rather than a kind the cluster runs itself.
func IsRedisURL(kind string) bool {
	return strings.HasPrefix(kind, "redis://") || strings.HasPrefix(kind, "rediss://")
}

// ErrRedisCluster is returned by the faults of the one Redis on a Redis
// Cluster: its faults name a master (KillRedisMaster).
var ErrRedisCluster = errors.New("a Redis Cluster has no one Redis to stop, restart or pause: kill a master instead (redis-master)")

// redisClusterReadyWait bounds how long a Redis Cluster may take to form.
const redisClusterReadyWait = 90 * time.Second

// ErrRedisNotOurs is returned by faults on an external Redis: the lab does
// not kill, restart or pause a Redis it did not start.
var ErrRedisNotOurs = errors.New("the Redis at a URL is not the lab's to stop, restart or pause")

// embeddedClockTick is how often the embedded Redis's clock is advanced.
// miniredis never expires keys on its own; advancing it with the wall
// clock makes TTLs (the dedupe keys') expire as on a real Redis.
const embeddedClockTick = 100 * time.Millisecond

// redisReadyWait bounds how long a started redis-server may take to
// answer PING.
const redisReadyWait = 10 * time.Second

// redis is the cluster's one Redis: embedded, a child, or external; or a
// Redis Cluster of children.
type redis struct {
	kind string
	addr string
	// cluster is the Redis Cluster, when kind is RedisCluster.
	cluster *clustertest.Cluster
	// killed are the cluster's masters killed by failovers, to start again.
	killed   []*clustertest.Node
	embedded *miniredis.Miniredis
	server   *process
	dataDir  string
	// external is the URL of a Redis the cluster did not start.
	external *url.URL
	// describe says which Redis ran, for the run's report.
	describe string
	// stopClock ends the embedded Redis's clock.
	stopClock chan struct{}
	clockDone sync.WaitGroup
	// stopRefusing ends refusePubSub's loop (nil: none runs).
	stopRefusing chan struct{}
	refusingDone sync.WaitGroup
}

func startRedis(kind, binary, runDir string) (*redis, error) {
	r := &redis{kind: kind}
	switch {
	case kind == RedisEmbedded:
		r.embedded = miniredis.NewMiniRedis()
		if err := r.embedded.Start(); err != nil {
			return nil, fmt.Errorf("embedded redis: %w", err)
		}
		r.addr = r.embedded.Addr()
		r.describe = "miniredis " + miniredisVersion + " (embedded; its clock advanced every " + embeddedClockTick.String() + " so TTLs expire)"
		r.startClock()
		return r, nil
	case IsRedisURL(kind):
		return r, r.startExternal(kind)
	case kind == RedisCluster:
		ctx, cancel := context.WithTimeout(context.Background(), redisClusterReadyWait)
		defer cancel()
		cluster, err := clustertest.Start(ctx, clustertest.Config{Dir: filepath.Join(runDir, "redis-cluster"), Server: binary})
		if err != nil {
			return nil, fmt.Errorf("redis cluster: %w", err)
		}
		r.cluster, r.addr = cluster, cluster.Nodes[0].Addr
		r.describe = "Redis Cluster of 3 masters and 3 replicas, " + serverVersion(binary)
		return r, nil
	case kind == RedisServer:
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		r.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		r.dataDir = filepath.Join(runDir, "redis-data")
		if err := os.MkdirAll(r.dataDir, 0o755); err != nil {
			return nil, err
		}
		r.server = &process{name: "redis", path: binary, logPath: filepath.Join(runDir, "redis.log"),
			args: []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", r.dataDir,
				"--save", "", "--appendonly", "yes", "--appendfsync", "always"}}
		r.describe = serverVersion(binary)
		return r, r.start()
	}
	return nil, fmt.Errorf("redis %q: want %s, %s, %s or a redis:// URL", kind, RedisEmbedded, RedisServer, RedisCluster)
}

// miniredisVersion is the embedded Redis's module version, for reports.
var miniredisVersion = func() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/alicebob/miniredis/v2" {
				return dep.Version
			}
		}
	}
	return "v2"
}()

// serverVersion is what `redis-server --version` says, shortened to its
// version ("redis-server 7.0.15").
func serverVersion(binary string) string {
	out, err := exec.Command(binary, "--version").Output()
	if err != nil {
		return "redis-server (" + binary + ")"
	}
	for _, field := range strings.Fields(string(out)) {
		if version, ok := strings.CutPrefix(field, "v="); ok {
			return "redis-server " + version
		}
	}
	return "redis-server (" + binary + ")"
}

// startExternal checks that the Redis at rawURL answers and empties its
// database: a run's checks read room heads from Redis and must not meet a
// previous run's rooms.
func (r *redis) startExternal(rawURL string) error {
	options, err := goredis.ParseURL(rawURL)
	if err != nil {
		return fmt.Errorf("redis URL %q: %w", rawURL, err)
	}
	if r.external, err = url.Parse(rawURL); err != nil {
		return fmt.Errorf("redis URL %q: %w", rawURL, err)
	}
	r.addr = options.Addr
	options.DisableIdentity = true
	client := goredis.NewClient(options)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), redisReadyWait)
	defer cancel()
	if err := client.FlushDB(ctx).Err(); err != nil {
		return fmt.Errorf("redis at %s: %w", options.Addr, err)
	}
	version := "?"
	if info, err := client.InfoMap(ctx, "server").Result(); err == nil {
		version = info["Server"]["redis_version"]
	}
	r.describe = fmt.Sprintf("redis %s at %s, database %d (external)", version, options.Addr, options.DB)
	return nil
}

// nodeURL is the URL a node dials to reach this Redis through the proxy
// at linkAddr: the external URL's credentials and database, or database 0.
func (r *redis) nodeURL(linkAddr string) string {
	if r.external == nil {
		return "redis://" + linkAddr + "/0"
	}
	u := *r.external
	u.Host = linkAddr
	if u.Path == "" {
		u.Path = "/0"
	}
	return u.String()
}

// startClock advances the embedded Redis's clock with the wall clock.
func (r *redis) startClock() {
	r.stopClock = make(chan struct{})
	r.clockDone.Go(func() {
		ticker := time.NewTicker(embeddedClockTick)
		defer ticker.Stop()
		last := time.Now()
		for {
			select {
			case <-r.stopClock:
				return
			case now := <-ticker.C:
				r.embedded.FastForward(now.Sub(last))
				last = now
			}
		}
	})
}

func (r *redis) start() error {
	if r.external != nil {
		return ErrRedisNotOurs
	}
	if r.cluster != nil {
		return ErrRedisCluster
	}
	if r.embedded != nil {
		return r.embedded.Restart()
	}
	if err := r.server.start(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), redisReadyWait)
	defer cancel()
	return waitTCP(ctx, r.addr)
}

// stop takes Redis down hard; without persist its data is gone when it
// comes back, as after a restart with no AOF.
func (r *redis) stop(persist bool) error {
	if r.external != nil {
		return ErrRedisNotOurs
	}
	if r.cluster != nil {
		return ErrRedisCluster
	}
	if r.embedded != nil {
		if !persist {
			r.embedded.FlushAll()
		}
		r.embedded.Close()
		return nil
	}
	if err := r.server.kill(); err != nil {
		return err
	}
	if persist {
		return nil
	}
	entries, err := os.ReadDir(r.dataDir)
	if err != nil {
		return err
	}
	for _, entry := range entries {
		if err := os.RemoveAll(filepath.Join(r.dataDir, entry.Name())); err != nil {
			return err
		}
	}
	return nil
}

// ErrNoClientKill is returned by a pub/sub kill on the embedded Redis,
// which has no CLIENT KILL.
var ErrNoClientKill = errors.New("the embedded Redis (miniredis) has no CLIENT KILL: run redis-server (--redis server)")

// killPubSub has Redis close every pub/sub connection.
func (r *redis) killPubSub(ctx context.Context) error {
	switch {
	case r.external != nil:
		return ErrRedisNotOurs
	case r.embedded != nil:
		return ErrNoClientKill
	}
	client := goredis.NewClient(&goredis.Options{Addr: r.addr, DisableIdentity: true, MaxRetries: -1})
	defer client.Close()
	if err := client.ClientKillByFilter(ctx, "TYPE", "pubsub").Err(); err != nil {
		return fmt.Errorf("client kill type pubsub: %w", err)
	}
	return nil
}

// refusePubSubEvery is how often a pub/sub refusal kills the pub/sub
// connections again: a new session dials, subscribes and pings within a
// few milliseconds on loopback, so most are killed before or soon after
// they come up.
const refusePubSubEvery = 20 * time.Millisecond

// refusePubSub kills every pub/sub connection now and again every
// refusePubSubEvery until admitPubSub, so that the nodes' links stay down.
func (r *redis) refusePubSub(ctx context.Context) error {
	if err := r.killPubSub(ctx); err != nil {
		return err
	}
	if r.stopRefusing != nil {
		return nil // already refusing
	}
	stop := make(chan struct{})
	r.stopRefusing = stop
	r.refusingDone.Go(func() {
		ticker := time.NewTicker(refusePubSubEvery)
		defer ticker.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ticker.C:
				// A kill that fails (Redis restarting) is tried again at
				// the next tick.
				_ = r.killPubSub(context.Background())
			}
		}
	})
	return nil
}

// admitPubSub ends a refusal.
func (r *redis) admitPubSub() {
	if r.stopRefusing == nil {
		return
	}
	close(r.stopRefusing)
	r.refusingDone.Wait()
	r.stopRefusing = nil
}

// pause stops or continues a redis-server child; the embedded and an
// external Redis have no process of ours, so the cluster blocks their
// links instead.
func (r *redis) pause(on bool) error {
	if r.cluster != nil {
		return ErrRedisCluster
	}
	return r.server.pause(on)
}

// failover freezes the replicas of the master owning room's slot and cuts
// them off for lag, kills that master, and lets the replicas go: the
// cluster promotes one. Writes the master acked meanwhile are lost with it.
func (r *redis) failover(ctx context.Context, room string, lag time.Duration) error {
	if r.cluster == nil {
		return errors.New("a failover needs a Redis Cluster (--redis cluster)")
	}
	master, err := r.cluster.Master(ctx, redisscript.KeysOf(room).Seq)
	if err != nil {
		return fmt.Errorf("the master of room %s: %w", room, err)
	}
	replicas, err := r.cluster.ReplicasOf(ctx, master)
	if err != nil {
		return err
	}
	if len(replicas) == 0 {
		return fmt.Errorf("master %s of room %s has no replica to take over", master.Addr, room)
	}
	for _, replica := range replicas {
		if err := replica.Pause(true); err != nil {
			return err
		}
	}
	// A frozen replica's socket would still take in what the master sends
	// (the kernel buffers it) and apply it once continued: the master drops
	// the connection, and the frozen replica cannot dial again.
	if err := master.DropReplicas(ctx); err != nil {
		return fmt.Errorf("cut master %s from its replicas: %w", master.Addr, err)
	}
	timer := time.NewTimer(lag)
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
	timer.Stop()
	master.Kill()
	r.killed = append(r.killed, master)
	var errs []error
	for _, replica := range replicas {
		errs = append(errs, replica.Pause(false))
	}
	return errors.Join(errs...)
}

// reshardWait bounds a slot's move, the keys' migration and every
// server's agreeing on the new owner.
const reshardWait = 30 * time.Second

// reshard moves room's slot, with its keys, to the next master.
func (r *redis) reshard(ctx context.Context, room string) error {
	if r.cluster == nil {
		return errors.New("a resharding needs a Redis Cluster (--redis cluster)")
	}
	ctx, cancel := context.WithTimeout(ctx, reshardWait)
	defer cancel()
	if _, _, err := r.cluster.MoveSlot(ctx, redisscript.RoomSlot(room)); err != nil {
		return fmt.Errorf("move the slot of room %s: %w", room, err)
	}
	return nil
}

// restartKilled starts the masters failovers killed again: each rejoins
// as a replica.
func (r *redis) restartKilled() error {
	var errs []error
	for _, node := range r.killed {
		errs = append(errs, node.Restart())
	}
	r.killed = nil
	return errors.Join(errs...)
}

func (r *redis) close() {
	r.admitPubSub()
	switch {
	case r.external != nil:
	case r.cluster != nil:
		r.cluster.Close()
	case r.embedded != nil:
		if r.stopClock != nil { // close may be called again
			close(r.stopClock)
			r.clockDone.Wait()
			r.stopClock = nil
		}
		r.embedded.Close()
	default:
		_ = r.server.kill()
	}
}
