package local

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"chatlab/loadgen"
	"chatlab/scenarios"
)

// idleClientsDefault keeps `make bench` quick; `make bench-idle` sets
// IDLE_CLIENTS=10000 (and raises the open-files limit for it).
const idleClientsDefault = 1000

// BenchmarkIdleConnectionMemory is the node's memory per idle connection, measured from a
// second process: one `chatlab node` child, IDLE_CLIENTS idle clients
// joined to 100 rooms, and the node's memory growth divided by the
// connections (measureIdle).
func BenchmarkIdleConnectionMemory(b *testing.B) {
	clients := idleClients(b, 1)
	for range b.N {
		c, err := Start(context.Background(), Config{Binary: binary, Nodes: []string{"n1"}, NoBalancer: true, RunDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		measureIdle(b, c, "n1", c.NodeURLs(), clients)
	}
}

// BenchmarkIdleBalancerMemory is the balancer's memory per idle proxied
// connection, measured the same way: a `chatlab balancer` child in front
// of one `chatlab node` child (no fault proxy between them), IDLE_CLIENTS
// idle clients through the balancer.
func BenchmarkIdleBalancerMemory(b *testing.B) {
	// The balancer holds two sockets per connection: the client's and the
	// node's.
	clients := idleClients(b, 2)
	for range b.N {
		// The balancer's new-connection limits are raised to the clients'
		// pace, which all come from one address.
		args := []string{"--new-connections-per-second", strconv.Itoa(idleConnectsPerSecond),
			"--new-connections-per-ip-per-second", strconv.Itoa(idleConnectsPerSecond),
			"--connections-per-backend-max", strconv.Itoa(clients)}
		c, err := Start(context.Background(), Config{Binary: binary, Nodes: []string{"n1"}, DirectBackends: true, BalancerArgs: args,
			RunDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		measureIdle(b, c, scenarios.BalancerName, []string{c.BalancerURL()}, clients)
	}
}

// envCount is the positive number the environment variable name gives, or
// fallback when it is unset.
func envCount(b *testing.B, name string, fallback int) int {
	value := os.Getenv(name)
	if value == "" {
		return fallback
	}
	parsed, err := strconv.Atoi(value)
	if err != nil || parsed < 1 {
		b.Fatalf("%s=%q: want a positive number", name, value)
	}
	return parsed
}

// idleFilesSpare is what a measured process needs besides its clients'
// sockets: listeners, Redis links, logs.
const idleFilesSpare = 200

// idleClients is IDLE_CLIENTS (default idleClientsDefault), refused with a
// clear message when the measured process, holding socketsEach sockets per
// client, would run out of open files.
func idleClients(b *testing.B, socketsEach int) int {
	clients := envCount(b, "IDLE_CLIENTS", idleClientsDefault)
	var limit syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit); err == nil {
		if need := uint64(clients*socketsEach + idleFilesSpare); limit.Max < need {
			b.Fatalf("IDLE_CLIENTS=%d needs %d open files in the measured process (%d sockets per connection); the hard limit is %d: lower IDLE_CLIENTS",
				clients, need, socketsEach, limit.Max)
		}
	}
	return clients
}

// measureIdle connects clients idle clients to urls (joined to 100 rooms),
// reads member's memory before and after, and reports the growth per
// connection: resident memory (VmRSS) and the Go heap in use plus
// goroutine stacks after a collection (the member's /metrics, after GET
// /debug/pprof/heap?gc=1 collects). IDLE_PROFILE=DIR keeps the member's
// heap profile with every connection open. It closes c.
func measureIdle(b *testing.B, c *Cluster, member string, urls []string, clients int) {
	defer c.Close()
	before, err := readIdleMemory(c, member, "")
	if err != nil {
		b.Fatal(err)
	}
	var after idleMemory
	var afterErr error
	summary, err := loadgen.Run(context.Background(), loadgen.Config{URLs: urls, Clients: clients, Rooms: 100,
		Idle: true, Duration: time.Second, ConnectsPerSecond: idleConnectsPerSecond, JoinWait: 2 * time.Minute,
		OnJoined: func() {
			time.Sleep(idleSettleWait)
			after, afterErr = readIdleMemory(c, member, os.Getenv("IDLE_PROFILE"))
		}})
	if err != nil {
		b.Fatal(err)
	}
	if afterErr != nil {
		b.Fatal(afterErr)
	}
	if summary.Connected != clients {
		b.Fatalf("%d of %d clients connected at the end", summary.Connected, clients)
	}
	each := func(from, to int64) float64 { return float64(to-from) / float64(clients) }
	b.ReportMetric(float64(clients), "conns")
	b.ReportMetric(each(before.rss, after.rss), "rss-bytes/conn")
	b.ReportMetric(each(before.heap+before.stack, after.heap+after.stack), "go-bytes/conn")
	b.ReportMetric(each(before.heap, after.heap), "heap-bytes/conn")
	b.ReportMetric(each(before.stack, after.stack), "stack-bytes/conn")
	rss := each(before.rss, after.rss)
	verdict := "met"
	if rss > idleBytesGoal {
		verdict = "NOT met"
	}
	b.Logf("goal: at most %d RSS bytes per idle connection: %.0f, %s", idleBytesGoal, rss, verdict)
	b.Logf("%s over %d idle connections: RSS %d -> %d bytes (%.0f each); Go heap in use %d -> %d (%.0f each), stacks %d -> %d (%.0f each)",
		member, clients, before.rss, after.rss, each(before.rss, after.rss), before.heap, after.heap, each(before.heap, after.heap),
		before.stack, after.stack, each(before.stack, after.stack))
}

// idleConnectsPerSecond paces the idle benchmarks' clients.
const idleConnectsPerSecond = 2000

// idleBytesGoal is the most an idle connection should cost a node or the
// balancer, in resident bytes.
const idleBytesGoal = 8 * 1024

// idleSettleWait lets the member finish the joins before its memory is read.
const idleSettleWait = 3 * time.Second

type idleMemory struct {
	rss, heap, stack int64
}

// readIdleMemory collects garbage in member (through its heap profile,
// kept in profileDir when set), then reads its memory.
func readIdleMemory(c *Cluster, member, profileDir string) (idleMemory, error) {
	var memory idleMemory
	admin, err := c.AdminAddr(member)
	if err != nil {
		return memory, err
	}
	profile, err := httpGet("http://" + admin + "/debug/pprof/heap?gc=1")
	if err != nil {
		return memory, err
	}
	if profileDir != "" {
		if err := os.WriteFile(filepath.Join(profileDir, member+"-idle-heap.pprof"), profile, 0o644); err != nil {
			return memory, err
		}
	}
	text, err := httpGet("http://" + admin + "/metrics")
	if err != nil {
		return memory, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(text)))
	if err != nil {
		return memory, fmt.Errorf("%s /metrics: %w", member, err)
	}
	gauge := func(name string) (int64, error) {
		family := families[name]
		if family == nil || len(family.Metric) != 1 || family.Metric[0].Gauge == nil {
			return 0, fmt.Errorf("%s /metrics has no gauge %s", member, name)
		}
		return int64(family.Metric[0].Gauge.GetValue()), nil
	}
	if memory.heap, err = gauge("go_memstats_heap_inuse_bytes"); err != nil {
		return memory, err
	}
	if memory.stack, err = gauge("go_memstats_stack_inuse_bytes"); err != nil {
		return memory, err
	}
	memory.rss, err = residentBytes(c.PID(member))
	return memory, err
}

// idleHTTPWait bounds one admin request of the idle benchmarks.
const idleHTTPWait = 30 * time.Second

func httpGet(url string) ([]byte, error) {
	client := http.Client{Timeout: idleHTTPWait}
	response, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err == nil && response.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, response.Status)
	}
	return body, err
}

// residentBytes reads VmRSS from /proc/PID/status.
func residentBytes(pid int) (int64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		fields := strings.Fields(line)
		if len(fields) == 3 && fields[0] == "VmRSS:" {
			kilobytes, err := strconv.ParseInt(fields[1], 10, 64)
			return kilobytes * 1024, err
		}
	}
	return 0, os.ErrNotExist
}
