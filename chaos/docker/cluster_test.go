package docker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"chatlab/loadgen"
	"chatlab/scenarios"
	"chatlab/system/client"
)

// convergeWait bounds a wait for the cluster to reach a state; it is a
// failure deadline, not a speed assertion.
const convergeWait = 60 * time.Second

// skipReason is set by TestMain when the docker target cannot run here.
var (
	skipReason   string
	haveBalancer bool
)

// TestMain builds chatlab:dev from this tree (so the containers run the
// code under test) and chatlab-redis:dev when it is missing. Without a
// Docker daemon every test skips, saying so.
func TestMain(m *testing.M) {
	os.Setenv(ryukEnv, "true")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := Available(ctx)
	cancel()
	switch {
	case err != nil:
		skipReason = fmt.Sprintf("no Docker daemon answers (%v): start dockerd to test the docker target", err)
	default:
		if err := buildImages(); err != nil {
			fmt.Fprintln(os.Stderr, "build images:", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

func buildImages() error {
	dir, err := os.MkdirTemp("", "chatlab-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	root, err := repositoryRoot()
	if err != nil {
		return err
	}
	steps := [][]string{
		{"go", "build", "-o", filepath.Join(dir, "chatlab"), "./cmd/chatlab"},
		{"docker", "build", "-q", "-f", "docker/chatlab.Dockerfile", "-t", imageDefault, dir},
	}
	if exec.Command("docker", "image", "inspect", redisImageDefault).Run() != nil {
		steps = append(steps, []string{"docker/redis/build.sh", redisImageDefault})
	}
	for _, step := range steps {
		command := exec.Command(step[0], step[1:]...)
		command.Dir = root
		command.Env = append(os.Environ(), "CGO_ENABLED=0")
		if output, err := command.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(step, " "), err, output)
		}
	}
	haveBalancer = exec.Command(filepath.Join(dir, "chatlab"), "balancer", "--help").Run() == nil
	return nil
}

func repositoryRoot() (string, error) {
	output, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	return strings.TrimSpace(string(output)), err
}

func startCluster(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	cfg.NoBalancer = !haveBalancer
	if !haveBalancer {
		t.Log("chatlab balancer is not in this build: clients dial the nodes")
	}
	cfg.NodeArgs = []string{"--rate-burst", "1000", "--rate-per-second", "1000"}
	ctx, cancel := context.WithTimeout(context.Background(), 3*convergeWait)
	defer cancel()
	c, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range append(c.Nodes(), scenarios.BalancerName, scenarios.RedisName) {
				logs, _ := c.Logs(context.Background(), name)
				if len(logs) > 3000 {
					logs = logs[len(logs)-3000:]
				}
				t.Logf("--- %s (tail)\n%s", name, logs)
			}
		}
		c.Close()
	})
	return c
}

func waitStatus(t *testing.T, c *Cluster, name, path string, want int) {
	t.Helper()
	httpClient := http.Client{Timeout: time.Second}
	deadline := time.Now().Add(convergeWait)
	for {
		endpoint, err := c.endpoint(context.Background(), name)
		got := 0
		if err == nil {
			if response, err := httpClient.Get("http://" + endpoint + path); err == nil {
				response.Body.Close()
				got = response.StatusCode
			}
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s answered %d, want %d", name, path, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The docker target end to end: traffic across three containers while
// one is killed (nothing acked lost), a Redis link cut and healed through
// the Docker network API, a pause, a drain and undrain at the balancer,
// Redis restarts with and without its data, and Close leaving nothing
// behind.
func TestDockerTarget(t *testing.T) {
	c := startCluster(t, Config{})
	ctx := context.Background()
	urls := c.NodeURLs(ctx)
	if haveBalancer {
		balancer, err := c.BalancerURL(ctx)
		if err != nil {
			t.Fatal(err)
		}
		urls = []string{balancer}
	}
	// The kill lands mid-traffic by an event, not a clock: once the
	// clients have taken killAfterDeliveries messages, however long a
	// loaded machine took to get there.
	const killAfterDeliveries = 100
	var deliveries atomic.Int64
	killed := make(chan error, 1)
	record := func(_ string, event client.Event) {
		if event.Kind == client.KindDelivered && deliveries.Add(1) == killAfterDeliveries {
			go func() { killed <- c.Kill(ctx, "n1") }()
		}
	}
	summary, err := loadgen.Run(ctx, loadgen.Config{URLs: urls, Clients: 12, Rooms: 2, SendRatePerClient: 5,
		MessageBytes: 16, Duration: 4 * time.Second, SettleWait: convergeWait, Seed: 3,
		Machine: client.Config{ResendAfterMs: 500, BackoffMaxMs: 500}, Record: record})
	if err != nil {
		t.Fatal(err)
	}
	if deliveries.Load() < killAfterDeliveries {
		t.Fatalf("the run ended after %d deliveries, before the kill's %d", deliveries.Load(), killAfterDeliveries)
	}
	if err := <-killed; err != nil {
		t.Fatal(err)
	}
	counts := summary.Counts
	t.Logf("sent %d acked %d delivered %d reconnects %d missing %d", counts.Sent, counts.Acked, counts.Delivered, summary.Reconnects, summary.Missing)
	if summary.Reconnects == 0 || counts.Acked != counts.Sent || summary.Missing != 0 {
		t.Fatalf("after a kill: reconnects %d, sent %d, acked %d, missing %d", summary.Reconnects, counts.Sent, counts.Acked, summary.Missing)
	}
	if err := c.StartMember(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "n1", "/readyz", http.StatusOK)

	if err := c.Partition(ctx, "n2", "redis", scenarios.To); err == nil {
		t.Fatal("a one-way partition was accepted")
	}
	if err := c.Partition(ctx, "n2", "redis", scenarios.Both); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "n2", "/readyz", http.StatusServiceUnavailable)
	if err := c.HealAll(ctx); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "n2", "/readyz", http.StatusOK)

	if err := c.Pause(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "n3", "/healthz", 0)
	if err := c.Resume(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "n3", "/healthz", http.StatusOK)

	if haveBalancer {
		if err := c.Drain(ctx, "n3"); err != nil {
			t.Fatal(err)
		}
		if err := c.Undrain(ctx, "n3"); err != nil {
			t.Fatal(err)
		}
		if err := c.Drain(ctx, scenarios.RedisName); err == nil {
			t.Fatal("a drain of redis was accepted")
		}
	}

	// Redis comes back with its data from its AOF, and empty when it was
	// to lose it. Its published port changes across a restart: each read
	// takes the options as they are now.
	redisGet := func(key string) (string, error) {
		rdb := goredis.NewClient(c.redisOpts)
		defer rdb.Close()
		return rdb.Get(ctx, key).Result()
	}
	rdb := goredis.NewClient(c.redisOpts)
	err = rdb.Set(ctx, "chatlab-test:kept", "yes", 0).Err()
	rdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, persist := range []bool{true, false} {
		if err := c.RestartRedis(ctx, persist); err != nil {
			t.Fatal(err)
		}
		value, err := redisGet("chatlab-test:kept")
		if kept := err == nil && value == "yes"; kept != persist || err != nil && !errors.Is(err, goredis.Nil) {
			t.Fatalf("after a restart with persist %v: %q, %v", persist, value, err)
		}
		for _, name := range c.Nodes() {
			waitStatus(t, c, name, "/readyz", http.StatusOK)
		}
	}
	state, err := c.State(ctx, "n1")
	if err != nil || !strings.Contains(string(state), `"n1"`) {
		t.Fatalf("n1 /state: %v %s", err, state)
	}
	ids := []string{c.redis.GetContainerID(), c.nodes["n1"].GetContainerID()}
	c.Close()
	for _, id := range ids {
		if exec.Command("docker", "container", "inspect", id).Run() == nil {
			t.Fatalf("container %s outlived Close", id)
		}
	}
}

// What Docker cannot do is an *UnsupportedError, in the words the docker
// target's refusals use, before any container is asked.
func TestUnsupportedFaultsSaySo(t *testing.T) {
	c := &Cluster{}
	ctx := context.Background()
	for _, err := range []error{
		c.Delay(ctx, "n1", "redis", time.Millisecond, 0),
		c.Loss(ctx, "n1", "redis", 5),
		c.Partition(ctx, "n1", "redis", scenarios.To),
		c.RefusePubSub(ctx),
		c.FailoverRedis(ctx, "room-1", time.Second),
		c.DropPubSub(ctx, "n1", 5),
	} {
		var unsupported *UnsupportedError
		if !errors.As(err, &unsupported) || !strings.HasPrefix(err.Error(), "the docker target ") {
			t.Errorf("%v: want an *UnsupportedError saying what the docker target does not do", err)
		}
	}
	if err := Unsupported(scenarios.Fault{Action: scenarios.Partition, Direction: scenarios.Both}); err != nil {
		t.Errorf("a partition both ways: %v", err)
	}
	if err := Unsupported(scenarios.Fault{Action: scenarios.Loss}); err == nil || err.Error() != c.Loss(ctx, "n1", "redis", 1).Error() {
		t.Errorf("a loss: %v; want the Loss method's own words", err)
	}
	if err := Unsupported(scenarios.Fault{Action: scenarios.PubSubDrop}); err == nil || err.Error() != c.DropPubSub(ctx, "n1", 5).Error() {
		t.Errorf("a pub/sub drop: %v; want the DropPubSub method's own words", err)
	}
}
