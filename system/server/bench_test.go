package server

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"chatlab/system/protocol"
)

// idleConnectionsBench is how many idle connections one round holds open;
// two descriptors each (client and server side) stay under ulimit -n.
const idleConnectionsBench = 2000

// BenchmarkIdleConnections measures what an idle, welcomed connection costs
// the server: Go heap and stacks, process RSS and goroutines, per
// connection. Clients are raw sockets that did the handshake and read the
// welcome into a small buffer, so they add little more than a descriptor.
func BenchmarkIdleConnections(b *testing.B) {
	m := miniredis.RunT(b)
	srv := startNode(b, m, "a", func(cfg *Config) { cfg.Auth, cfg.Secret = false, nil })
	var heapPerConn, rssPerConn, goroutinesPerConn float64
	for range b.N {
		runtime.GC()
		heapBefore, rssBefore, goroutinesBefore := memoryNow(b)
		conns := make([]net.Conn, 0, idleConnectionsBench)
		for i := range idleConnectionsBench {
			conns = append(conns, rawConnect(b, srv.Addr(), fmt.Sprintf("u%d", i)))
		}
		runtime.GC()
		heapAfter, rssAfter, goroutinesAfter := memoryNow(b)
		heapPerConn = float64(heapAfter-heapBefore) / idleConnectionsBench
		rssPerConn = float64(rssAfter-rssBefore) / idleConnectionsBench
		goroutinesPerConn = float64(goroutinesAfter-goroutinesBefore) / idleConnectionsBench
		for _, conn := range conns {
			conn.Close()
		}
		waitConnections(b, srv, 0)
	}
	b.ReportMetric(heapPerConn, "heap-bytes/conn")
	b.ReportMetric(rssPerConn, "rss-bytes/conn")
	b.ReportMetric(goroutinesPerConn, "goroutines/conn")
	b.Logf("%d idle connections: %.0f B heap+stack, %.0f B RSS, %.2f goroutines per connection",
		idleConnectionsBench, heapPerConn, rssPerConn, goroutinesPerConn)
}

// memoryNow returns Go heap plus stack bytes in use, process RSS bytes and
// the goroutine count.
func memoryNow(b *testing.B) (uint64, uint64, int) {
	var stats runtime.MemStats
	runtime.ReadMemStats(&stats)
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		b.Fatal(err)
	}
	fields := strings.Fields(string(statm))
	pages, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return stats.HeapInuse + stats.StackInuse, pages * uint64(os.Getpagesize()), runtime.NumGoroutine()
}

// rawConnect does a WebSocket handshake by hand and reads up to the
// welcome frame, leaving an idle socket with no goroutine or buffer.
func rawConnect(b testing.TB, addr, user string) net.Conn {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /ws?user=%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", user, addr)
	conn.SetReadDeadline(time.Now().Add(testWait))
	reader := bufio.NewReaderSize(conn, 512)
	var seen []byte
	for !bytes.Contains(seen, []byte(`"type":"welcome"`)) {
		chunk := make([]byte, 256)
		n, err := reader.Read(chunk)
		if err != nil {
			b.Fatalf("handshake: %v after %q", err, seen)
		}
		seen = append(seen, chunk[:n]...)
	}
	if !bytes.HasPrefix(seen, []byte("HTTP/1.1 101")) {
		b.Fatalf("handshake answered %q", seen)
	}
	return conn
}

func waitConnections(b testing.TB, srv *Server, want int) {
	deadline := time.Now().Add(testWait)
	for {
		snapshot, ok := srv.loop.requestSnapshot(b.Context())
		if ok && snapshot.Connections == want {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d connections; want %d", snapshot.Connections, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkSendAcrossNodes measures one send's round trip through the real
// stack: client → node A → Redis (Lua publish) → ack to the sender, with a
// member on node B receiving each message.
func BenchmarkSendAcrossNodes(b *testing.B) {
	m := miniredis.RunT(b)
	nodeA := startNode(b, m, "a", func(cfg *Config) { cfg.RateBurst, cfg.RatePerSecond = 1_000_000, 1_000_000 })
	nodeB := startNode(b, m, "b", nil)
	sender := dial(b, nodeA, "token="+token(b, "sender"))
	receiver := dial(b, nodeB, "token="+token(b, "receiver"))
	sender.join("bench")
	receiver.join("bench")
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		sender.write(protocol.Send{Type: protocol.TypeSend, Room: "bench", ID: strconv.Itoa(i), Body: "hello"})
		sender.nextOf(protocol.TypeAck)
		receiver.nextOf(protocol.TypeMsg)
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sends/s")
	b.Logf("%d sends, each acked and received across nodes: %.0f sends/s", b.N, float64(b.N)/elapsed.Seconds())
}
