package local

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"chatlab/loadgen"
)

// idleClientsDefault keeps `make bench` quick; `make bench-idle` sets
// IDLE_CLIENTS=10000 (and raises the open-files limit for it).
const idleClientsDefault = 1000

// BenchmarkIdleConnectionMemory is the node's memory per idle connection, measured from a
// second process: one `chatlab node` child, IDLE_CLIENTS idle clients
// joined to 100 rooms, and the node's resident memory growth divided by
// the connections (read from /proc/PID/status after the node settles).
func BenchmarkIdleConnectionMemory(b *testing.B) {
	clients := idleClientsDefault
	if value := os.Getenv("IDLE_CLIENTS"); value != "" {
		parsed, err := strconv.Atoi(value)
		if err != nil || parsed < 1 {
			b.Fatalf("IDLE_CLIENTS=%q: want a positive number", value)
		}
		clients = parsed
	}
	for range b.N {
		c, err := Start(context.Background(), Config{Binary: binary, Nodes: []string{"n1"}, NoBalancer: true, RunDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		pid := c.PID("n1")
		before, err := residentBytes(pid)
		if err != nil {
			c.Close()
			b.Fatal(err)
		}
		var after int64
		summary, err := loadgen.Run(context.Background(), loadgen.Config{URLs: c.NodeURLs(), Clients: clients, Rooms: 100,
			Idle: true, Duration: time.Second, ConnectsPerSecond: 2000, JoinWait: 2 * time.Minute,
			OnJoined: func() {
				time.Sleep(idleSettleWait)
				after, err = residentBytes(pid)
			}})
		c.Close()
		if err != nil {
			b.Fatal(err)
		}
		if summary.Connected != clients {
			b.Fatalf("%d of %d clients connected at the end", summary.Connected, clients)
		}
		perConnection := float64(after-before) / float64(clients)
		b.ReportMetric(perConnection, "node-bytes/conn")
		b.ReportMetric(float64(clients), "conns")
		b.Logf("node RSS %d -> %d bytes over %d idle connections: %.0f bytes each", before, after, clients, perConnection)
	}
}

// idleSettleWait lets the node finish the joins and its GC run before its
// memory is read.
const idleSettleWait = 3 * time.Second

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
