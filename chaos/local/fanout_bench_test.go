package local

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"chatlab/loadgen"
)

// fanoutShape is one workload of BenchmarkFanout: clients spread over the
// nodes, joined round-robin to rooms, the first senders sending.
type fanoutShape struct {
	name    string
	clients int
	rooms   int
	senders int
	// rates are the offered messages per second of the whole run, one
	// step each.
	rates []float64
}

// fanoutShapes: one big room (the workload of the issue that asked for the
// benchmark), many small rooms, and many connections mostly idle. FANOUT_CONNS
// sets the connections of the last two (default 10,000).
func fanoutShapes(conns int) []fanoutShape {
	return []fanoutShape{
		{name: "one-room", clients: 1010, rooms: 1, senders: 10, rates: []float64{50, 100, 200, 400}},
		{name: "small-rooms", clients: conns, rooms: conns / 10, senders: conns / 10, rates: []float64{1000, 2000, 4000, 8000}},
		{name: "mostly-idle", clients: conns, rooms: conns / 100, senders: conns / 100, rates: []float64{100, 200, 400, 800}},
	}
}

// fanoutNodeArgs lift the per-connection limits a benchmark's senders
// would otherwise hit; everything else is the node's default.
var fanoutNodeArgs = []string{"--rate-burst", "1000", "--rate-per-second", "1000", "--frame-burst", "2000",
	"--frames-per-second", "2000", "--broker-calls-per-user-max", "1024", "--log-level", "warn"}

// BenchmarkFanout is `make bench-fanout`: redis-server (no persistence) and
// two `chatlab node` processes, real WebSocket clients from this process
// spread over both nodes, and for each shape (fanoutShapes) steps of
// rising offered rates, each FANOUT_SECONDS (default 3) long. It prints,
// per step, deliveries per second and send-to-delivery latency, then the
// shape's saturation: the most deliveries per second any step reached.
//
// Environment: FANOUT_SHAPES (comma-separated names, default every
// shape), FANOUT_RATES (offered msgs/s of every step, comma-separated;
// default each shape's own), FANOUT_SECONDS, FANOUT_CONNS, FANOUT_BINARY
// (the chatlab to measure instead of this tree's, for before/after runs in
// one time window), FANOUT_PROFILE=DIR (a CPU profile of node n1 over each
// step, DIR/SHAPE-RATE.pprof, from its admin listener's /debug/pprof),
// FANOUT_REDIS=cluster (the nodes on a Redis Cluster of 3 masters and 3
// replicas instead of one redis-server; its CPU is not sampled).
func BenchmarkFanout(b *testing.B) {
	redisBinary, err := exec.LookPath("redis-server")
	if err != nil {
		b.Skip("redis-server is not on PATH (apt-get install -y redis-server): fanout benchmark skipped")
	}
	settings, err := fanoutSettingsFromEnv()
	if err != nil {
		b.Fatal(err)
	}
	for _, shape := range settings.shapes {
		b.Run(shape.name, func(b *testing.B) {
			for range b.N {
				runFanoutShape(b, redisBinary, settings, shape)
			}
		})
	}
}

type fanoutSettings struct {
	shapes  []fanoutShape
	step    time.Duration
	binary  string
	profile string
	// redis is RedisCluster, or "" for one redis-server.
	redis string
}

func fanoutSettingsFromEnv() (fanoutSettings, error) {
	settings := fanoutSettings{step: 3 * time.Second, binary: binary, profile: os.Getenv("FANOUT_PROFILE")}
	switch value := os.Getenv("FANOUT_REDIS"); value {
	case "", RedisCluster:
		settings.redis = value
	default:
		return settings, fmt.Errorf("FANOUT_REDIS=%q: want %s or nothing (one redis-server)", value, RedisCluster)
	}
	conns := 10000
	if value := os.Getenv("FANOUT_CONNS"); value != "" {
		parsed, err := strconv.Atoi(value)
		if err != nil || parsed < 100 {
			return settings, fmt.Errorf("FANOUT_CONNS=%q: want a number of at least 100", value)
		}
		conns = parsed
	}
	if value := os.Getenv("FANOUT_SECONDS"); value != "" {
		seconds, err := strconv.ParseFloat(value, 64)
		if err != nil || seconds <= 0 {
			return settings, fmt.Errorf("FANOUT_SECONDS=%q: want a positive number", value)
		}
		settings.step = time.Duration(seconds * float64(time.Second))
	}
	if value := os.Getenv("FANOUT_BINARY"); value != "" {
		settings.binary = value
	}
	var rates []float64
	if value := os.Getenv("FANOUT_RATES"); value != "" {
		for field := range strings.SplitSeq(value, ",") {
			rate, err := strconv.ParseFloat(strings.TrimSpace(field), 64)
			if err != nil || rate <= 0 {
				return settings, fmt.Errorf("FANOUT_RATES=%q: want positive numbers, comma-separated", value)
			}
			rates = append(rates, rate)
		}
	}
	wanted := map[string]bool{}
	if value := os.Getenv("FANOUT_SHAPES"); value != "" {
		for name := range strings.SplitSeq(value, ",") {
			wanted[strings.TrimSpace(name)] = true
		}
	}
	selecting := len(wanted) > 0
	for _, shape := range fanoutShapes(conns) {
		if selecting && !wanted[shape.name] {
			continue
		}
		delete(wanted, shape.name)
		if rates != nil {
			shape.rates = rates
		}
		settings.shapes = append(settings.shapes, shape)
	}
	for name := range wanted { // map order: any one unknown name is the error
		return settings, fmt.Errorf("FANOUT_SHAPES: no shape %q (one-room, small-rooms, mostly-idle)", name)
	}
	return settings, nil
}

func runFanoutShape(b *testing.B, redisBinary string, settings fanoutSettings, shape fanoutShape) {
	dir := b.TempDir()
	redis, redisPID := RedisCluster, 0
	if settings.redis == "" {
		redisAddr, pid, stopRedis, err := startBenchRedis(redisBinary, dir)
		if err != nil {
			b.Fatal(err)
		}
		defer stopRedis()
		redis, redisPID = "redis://"+redisAddr+"/0", pid
	}
	c, err := Start(context.Background(), Config{Binary: settings.binary, Nodes: []string{"n1", "n2"}, NoBalancer: true,
		DirectRedis: true, Redis: redis, NodeArgs: fanoutNodeArgs, RunDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	perSender := make([]float64, len(shape.rates))
	for i, rate := range shape.rates {
		perSender[i] = rate / float64(shape.senders)
	}
	profiles := make(chan error, len(shape.rates))
	var cpu []cpuSample // at each step's start, and at the end
	summaries, err := loadgen.RunSteps(context.Background(), loadgen.Config{URLs: c.NodeURLs(), Clients: shape.clients,
		Rooms: shape.rooms, Senders: shape.senders, StepRates: perSender, MessageBytes: 64, Duration: settings.step,
		ConnectsPerSecond: 2000, JoinWait: 2 * time.Minute, SettleWait: 30 * time.Second, Seed: 1,
		OnStep: func(step int) {
			cpu = append(cpu, sampleCPU(c, redisPID))
			if settings.profile == "" {
				return
			}
			admin, err := c.AdminAddr("n1")
			if err != nil {
				profiles <- err
				return
			}
			path := filepath.Join(settings.profile, fmt.Sprintf("%s-%g.pprof", shape.name, shape.rates[step]))
			go func() { profiles <- fetchCPUProfile(admin, settings.step, path) }()
		}})
	if err != nil {
		b.Fatal(err)
	}
	cpu = append(cpu, sampleCPU(c, redisPID))
	if settings.profile != "" {
		for range summaries {
			if err := <-profiles; err != nil {
				b.Errorf("profile: %v", err)
			}
		}
	}
	members := shape.clients / shape.rooms
	on := "one redis-server"
	if settings.redis == RedisCluster {
		on = "a Redis Cluster of 3 masters (its CPU not sampled)"
	}
	fmt.Printf("\nfanout %s: %d clients on 2 nodes, %d room(s) of %d, %d senders, 64-byte messages, %s per step, on %s\n",
		shape.name, shape.clients, shape.rooms, members, shape.senders, settings.step, on)
	fmt.Printf("%10s %10s %14s %14s %8s %8s %8s %8s %8s %12s %12s %12s %12s\n", "offered/s", "sent/s", "deliveries/s", "owed/s",
		"p50 ms", "p99 ms", "max ms", "missing", "settled", "nodes cpu/d", "redis cpu/m", "clients cpu/d", "frames/write")
	best, bestRate := 0.0, 0.0
	for i, s := range summaries {
		// CPU per delivery (nodes, and the clients: this process) and
		// per message (Redis), in µs, over the step and its settling: a
		// figure other processes on the machine disturb less than rates
		// and latencies. The clients share the machine with the nodes, so
		// theirs bounds the saturation measured too.
		// Frames per write: the nodes' batches to client sockets.
		nodesPerDelivery, redisPerMessage, clientsPerDelivery, framesPerWrite := 0.0, 0.0, 0.0, 0.0
		if writes := cpu[i+1].frameWrites - cpu[i].frameWrites; writes > 0 {
			framesPerWrite = (cpu[i+1].framesWritten - cpu[i].framesWritten) / writes
		}
		if s.Counts.Delivered > 0 && s.Counts.Sent > 0 {
			nodesPerDelivery = float64(cpu[i+1].nodesMs-cpu[i].nodesMs) * 1000 / float64(s.Counts.Delivered)
			redisPerMessage = float64(cpu[i+1].redisMs-cpu[i].redisMs) * 1000 / float64(s.Counts.Sent)
			clientsPerDelivery = float64(cpu[i+1].clientsMs-cpu[i].clientsMs) * 1000 / float64(s.Counts.Delivered)
		}
		fmt.Printf("%10g %10.0f %14.0f %14.0f %8d %8d %8d %8d %8v %10.1fµs %10.1fµs %11.1fµs %12.2f\n", shape.rates[i], s.SendsPerSecond,
			s.DeliveriesPerSecond, s.SendsPerSecond*float64(members), s.Latency.P50, s.Latency.P99, s.Latency.Max, s.Missing,
			s.Settled, nodesPerDelivery, redisPerMessage, clientsPerDelivery, framesPerWrite)
		if s.DeliveriesPerSecond > best {
			best, bestRate = s.DeliveriesPerSecond, shape.rates[i]
		}
	}
	fmt.Printf("saturation %s: %.0f deliveries/s (at %g msgs/s offered)\n", shape.name, best, bestRate)
	if shape.name == fanoutGoalShape {
		met := func(ok bool) string {
			if ok {
				return "met"
			}
			return "NOT met"
		}
		fmt.Printf("goal: saturation at least %.0f deliveries/s (1.5x the %.0f measured before the fanout work): %.0f, %s\n",
			fanoutSaturationGoal, fanoutSaturationBefore, best, met(best >= fanoutSaturationGoal))
		for i, rate := range shape.rates {
			if rate == fanoutP99GoalRate {
				p99 := summaries[i].Latency.P99
				fmt.Printf("goal: p99 at most %d ms at %g msgs/s: %d ms, %s\n", fanoutP99GoalMs, rate, p99, met(p99 <= fanoutP99GoalMs))
			}
		}
	}
	b.ReportMetric(best, "deliveries/s")
}

// The fanout goals, for the one-room shape (the workload compared with
// Centrifugo): saturation at least 1.5 times what chatlab reached before
// the fanout work, and p99 latency within 50 ms at 100 messages/s.
const (
	fanoutGoalShape        = "one-room"
	fanoutSaturationBefore = 113322.0
	fanoutSaturationGoal   = 1.5 * fanoutSaturationBefore
	fanoutP99GoalRate      = 100.0
	fanoutP99GoalMs        = 50
)

// startBenchRedis runs redis-server without persistence on a free port,
// as a benchmark's Redis; stop kills it and waits for it.
func startBenchRedis(redisBinary, dir string) (addr string, pid int, stop func(), err error) {
	port, err := freePort()
	if err != nil {
		return "", 0, nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "redis.log"))
	if err != nil {
		return "", 0, nil, err
	}
	cmd := exec.Command(redisBinary, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", dir)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return "", 0, nil, err
	}
	stop = func() {
		cmd.Process.Kill()
		cmd.Wait()
		logFile.Close()
	}
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(context.Background(), startWait)
	defer cancel()
	client := goredis.NewClient(&goredis.Options{Addr: addr})
	defer client.Close()
	for client.Ping(ctx).Err() != nil {
		select {
		case <-ctx.Done():
			stop()
			return "", 0, nil, fmt.Errorf("redis-server on %s did not answer within %s", addr, startWait)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return addr, cmd.Process.Pid, stop, nil
}

// cpuMs is the CPU time (user and system) a process has used, in
// milliseconds, from /proc/PID/stat.
func cpuMs(pid int) (int64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after its closing parenthesis (utime and stime are fields 14 and 15).
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the name", pid, len(fields))
	}
	var ticks int64
	for _, field := range fields[11:13] {
		value, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += value
	}
	return ticks * 1000 / clockTicksPerSecond, nil
}

// clockTicksPerSecond is Linux's USER_HZ, the unit of /proc/PID/stat's times.
const clockTicksPerSecond = 100

// cpuSample is the CPU time of the nodes, of Redis and of this process
// (the clients) at one moment, and the frames the nodes have written and
// the writes they took (chatlab_frames_written_total,
// chatlab_frame_writes_total).
type cpuSample struct {
	nodesMs, redisMs, clientsMs int64
	framesWritten, frameWrites  float64
}

func sampleCPU(c *Cluster, redisPID int) cpuSample {
	var sample cpuSample
	for _, name := range c.Nodes() {
		ms, _ := cpuMs(c.PID(name))
		sample.nodesMs += ms
		if admin, err := c.AdminAddr(name); err == nil {
			frames, writes := nodeWriteCounters(admin)
			sample.framesWritten += frames
			sample.frameWrites += writes
		}
	}
	sample.redisMs, _ = cpuMs(redisPID)
	sample.clientsMs, _ = cpuMs(os.Getpid())
	return sample
}

// nodeWriteCounters reads a node's frames written and frame writes from its
// admin listener's /metrics (0 and 0 when it does not answer).
func nodeWriteCounters(admin string) (frames, writes float64) {
	client := http.Client{Timeout: 5 * time.Second}
	response, err := client.Get("http://" + admin + "/metrics")
	if err != nil {
		return 0, 0
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		return 0, 0
	}
	for line := range strings.SplitSeq(string(body), "\n") {
		name, value, found := strings.Cut(line, " ")
		if !found {
			continue
		}
		number, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(name, "chatlab_frames_written_total"):
			frames = number
		case strings.HasPrefix(name, "chatlab_frame_writes_total"):
			writes = number
		}
	}
	return frames, writes
}

// fetchCPUProfile writes a CPU profile of the process behind admin over
// duration to path.
func fetchCPUProfile(admin string, duration time.Duration, path string) error {
	seconds := max(1, int(duration.Round(time.Second)/time.Second))
	client := http.Client{Timeout: duration + 30*time.Second}
	response, err := client.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", admin, seconds))
	if err != nil {
		return err
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return fmt.Errorf("GET profile: %s", response.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(file, response.Body); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}
