package local

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// Redis kinds.
const (
	// RedisEmbedded is miniredis inside the runner process: no binary
	// needed, restarts keep or drop data on demand.
	RedisEmbedded = "embedded"
	// RedisServer is a redis-server child with AOF (appendfsync always), so
	// that a kill -9 keeps every acknowledged write when asked to.
	RedisServer = "redis-server"
)

// redisReadyWait bounds how long a started redis-server may take to
// answer PING.
const redisReadyWait = 10 * time.Second

// redis is the cluster's one Redis, embedded or a child.
type redis struct {
	kind     string
	addr     string
	embedded *miniredis.Miniredis
	server   *process
	dataDir  string
}

func startRedis(kind, binary, runDir string) (*redis, error) {
	r := &redis{kind: kind}
	switch kind {
	case RedisEmbedded:
		r.embedded = miniredis.NewMiniRedis()
		if err := r.embedded.Start(); err != nil {
			return nil, fmt.Errorf("embedded redis: %w", err)
		}
		r.addr = r.embedded.Addr()
		return r, nil
	case RedisServer:
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
		return r, r.start()
	}
	return nil, fmt.Errorf("redis %q: want %s or %s", kind, RedisEmbedded, RedisServer)
}

func (r *redis) start() error {
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

// pause stops or continues a redis-server child; the embedded Redis has
// no process of its own, so the cluster blocks its links instead.
func (r *redis) pause(on bool) error { return r.server.pause(on) }

func (r *redis) close() {
	if r.embedded != nil {
		r.embedded.Close()
		return
	}
	_ = r.server.kill()
}
