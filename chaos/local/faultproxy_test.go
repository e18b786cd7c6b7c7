package local

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// echoServer greets each connection with "hello\n", then echoes lines.
func echoServer(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { listener.Close() })
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.Write([]byte("hello\n"))
				io.Copy(conn, conn)
			}()
		}
	}()
	return listener.Addr().String()
}

func startProxy(t *testing.T) (*FaultProxy, *bufio.Reader, net.Conn) {
	t.Helper()
	proxy, err := NewFaultProxy(echoServer(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	conn, err := net.Dial("tcp", proxy.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	reader := bufio.NewReader(conn)
	if line := readLine(t, conn, reader, 5*time.Second); line != "hello" {
		t.Fatalf("greeting %q, want hello", line)
	}
	return proxy, reader, conn
}

// readLine reads one line within wait; "" when none came.
func readLine(t *testing.T, conn net.Conn, reader *bufio.Reader, wait time.Duration) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(wait))
	line, err := reader.ReadString('\n')
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return ""
	}
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return strings.TrimSuffix(line, "\n")
}

// waitHeld waits until the proxy holds want bytes of flow: the event that
// shows a block at work, instead of watching a while for nothing.
func waitHeld(t *testing.T, proxy *FaultProxy, flow Flow, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for proxy.held[flow].Load() != int64(want) {
		if time.Now().After(deadline) {
			t.Fatalf("the proxy holds %d bytes of flow %d, want %d", proxy.held[flow].Load(), flow, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFaultProxyRelaysBothWays(t *testing.T) {
	_, reader, conn := startProxy(t)
	for _, word := range []string{"one", "two", strings.Repeat("x", 3*chunkBytesMax)} {
		conn.Write([]byte(word + "\n"))
		if got := readLine(t, conn, reader, 5*time.Second); got != word {
			t.Fatalf("echo of %d bytes came back as %d bytes", len(word), len(got))
		}
	}
}

// A one-way block holds what the dialing side sends and lets the answers
// through; healing delivers what was held, in order.
func TestFaultProxyBlockUpstreamHoldsOneWay(t *testing.T) {
	proxy, reader, conn := startProxy(t)
	proxy.Block(Upstream, true)
	conn.Write([]byte("held\n"))
	// The proxy holds the line: it was read and not written upstream (a
	// flow that let it through would hold nothing).
	waitHeld(t, proxy, Upstream, len("held\n"))
	// The other way still flows: a second connection gets its greeting.
	second, err := net.Dial("tcp", proxy.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if got := readLine(t, second, bufio.NewReader(second), 5*time.Second); got != "hello" {
		t.Fatalf("downstream during an upstream block: %q, want hello", got)
	}
	conn.Write([]byte("after\n"))
	proxy.Heal()
	for _, want := range []string{"held", "after"} {
		if got := readLine(t, conn, reader, 5*time.Second); got != want {
			t.Fatalf("after heal got %q, want %q", got, want)
		}
	}
}

func TestFaultProxyBlockDownstreamHoldsAnswers(t *testing.T) {
	proxy, reader, conn := startProxy(t)
	proxy.Block(Downstream, true)
	conn.Write([]byte("ping\n"))
	// The echo is back at the proxy and held there, not written to the
	// client.
	waitHeld(t, proxy, Downstream, len("ping\n"))
	proxy.Block(Downstream, false)
	if got := readLine(t, conn, reader, 5*time.Second); got != "ping" {
		t.Fatalf("after unblock got %q, want ping", got)
	}
}

// A delay holds each chunk at least that long each way.
func TestFaultProxyDelay(t *testing.T) {
	proxy, reader, conn := startProxy(t)
	const latency = 150 * time.Millisecond
	proxy.Delay(latency, 0)
	start := time.Now()
	conn.Write([]byte("slow\n"))
	if got := readLine(t, conn, reader, 5*time.Second); got != "slow" {
		t.Fatalf("got %q, want slow", got)
	}
	if elapsed := time.Since(start); elapsed < 2*latency {
		t.Fatalf("round trip took %s, want at least %s (delay each way)", elapsed, 2*latency)
	}
	proxy.Heal()
	conn.Write([]byte("fast\n"))
	if got := readLine(t, conn, reader, 5*time.Second); got != "fast" {
		t.Fatalf("got %q, want fast", got)
	}
}

// Loss cuts the connection that carried the lost chunk; Drop cuts all.
func TestFaultProxyLossCutsConnection(t *testing.T) {
	proxy, reader, conn := startProxy(t)
	proxy.Loss(100)
	conn.Write([]byte("lost\n"))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := reader.ReadString('\n'); !errors.Is(err, io.EOF) {
		t.Fatalf("read after loss: %v, want EOF", err)
	}
	proxy.Heal()
	second, err := net.Dial("tcp", proxy.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	secondReader := bufio.NewReader(second)
	if got := readLine(t, second, secondReader, 5*time.Second); got != "hello" {
		t.Fatalf("a new connection after heal got %q", got)
	}
	proxy.Drop()
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := secondReader.ReadString('\n'); !errors.Is(err, io.EOF) {
		t.Fatalf("read after drop: %v, want EOF", err)
	}
}
