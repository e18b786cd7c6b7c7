package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
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

// fanoutMembersBench is the members of the room BenchmarkFanoutLoop
// delivers to: one node's half of bench-fanout's one-room shape.
const fanoutMembersBench = 500

// BenchmarkFanoutLoop measures the node's side of a fanout: room messages
// go straight into the loop (as the broker forwarder hands them over) to a
// room of fanoutMembersBench members on raw sockets that read and discard,
// one of which, a full client, paces the feed: at most window messages
// undelivered to it (window 1: each message written to every member before
// the next comes, one frame per write; 32: a loop that is behind), or fed
// at a steady rate of messages per second (rate-N, within a window of
// 256: what a room's senders offer). It reports the process's CPU time
// per delivery (the node's and the readers'), frames per write and
// deliveries per second.
func BenchmarkFanoutLoop(b *testing.B) {
	for _, window := range []int{1, 32} {
		b.Run(fmt.Sprintf("window-%d", window), func(b *testing.B) { benchmarkFanoutLoop(b, window, 0) })
	}
	for _, rate := range []int{100, 400} {
		b.Run(fmt.Sprintf("rate-%d", rate), func(b *testing.B) { benchmarkFanoutLoop(b, 256, rate) })
	}
}

func benchmarkFanoutLoop(b *testing.B, window, rate int) {
	m := miniredis.RunT(b)
	srv := startNode(b, m, "a", func(cfg *Config) {
		cfg.Auth, cfg.Secret = false, nil
		cfg.SendQueueLenMax = 1 << 16 // readers lagging the pace are not cut off
	})
	for i := range fanoutMembersBench - 1 {
		conn := rawConnect(b, srv.Addr(), fmt.Sprintf("m%d", i))
		defer conn.Close()
		writeClientFrame(b, conn, []byte(`{"type":"join","room":"lobby"}`))
		conn.SetReadDeadline(time.Time{})
		go io.Copy(io.Discard, conn)
	}
	pace := dial(b, srv, userQuery("pace"))
	pace.join("lobby")
	body := strings.Repeat("x", 64)
	submit := func(seq uint64) {
		srv.loop.submit(func(l *loop) {
			l.node.Message(protocol.Msg{Type: protocol.TypeMsg, Room: "lobby", Seq: seq, ID: strconv.FormatUint(seq, 10),
				From: "sender", Body: body, TS: l.node.NowMs()})
		})
	}
	framesBefore, writesBefore := counterValue(srv.metrics.framesWritten), counterValue(srv.metrics.frameWrites)
	cpuBefore := processCPU(b)
	b.ResetTimer()
	start := time.Now()
	var pacing *time.Ticker
	if rate > 0 {
		pacing = time.NewTicker(time.Second / time.Duration(rate))
		defer pacing.Stop()
	}
	for seq := 1; seq <= b.N; seq++ {
		if pacing != nil {
			<-pacing.C
		}
		submit(uint64(seq))
		if seq >= window {
			pace.nextOf(protocol.TypeMsg)
		}
	}
	for range min(b.N, window-1) {
		pace.nextOf(protocol.TypeMsg)
	}
	waitCounter(b, srv.metrics.framesWritten, framesBefore+float64(b.N*fanoutMembersBench))
	elapsed := time.Since(start)
	b.StopTimer()
	deliveries := float64(b.N * fanoutMembersBench)
	writes := counterValue(srv.metrics.frameWrites) - writesBefore
	b.ReportMetric(float64(processCPU(b)-cpuBefore)/float64(time.Microsecond)/deliveries, "cpu-µs/delivery")
	b.ReportMetric(deliveries/writes, "frames/write")
	b.ReportMetric(deliveries/elapsed.Seconds(), "deliveries/s")
}

// writeClientFrame writes one masked text frame of at most 125 bytes, as
// a client must (RFC 6455 5.3; a zero mask leaves the payload as it is).
func writeClientFrame(b testing.TB, conn net.Conn, payload []byte) {
	frame := append([]byte{0x81, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...)
	if _, err := conn.Write(frame); err != nil {
		b.Fatal(err)
	}
}

// processCPU is the CPU time, user and system, the process has used.
func processCPU(b testing.TB) time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		b.Fatal(err)
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}
