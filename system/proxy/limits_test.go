package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"chatlab/system/balance"
)

// Request headers are bounded at 16 KB: a client cannot make the balancer
// buffer a megabyte of them per connection.
func TestHugeRequestHeadersAreRefused(t *testing.T) {
	n1 := newEchoBackend(t, "n1")
	p := startProxy(t, balance.Config{}, balance.Backend{Name: "n1", Addr: n1.addr()})
	for _, tc := range []struct {
		bytes  int
		status int
	}{{8 << 10, http.StatusOK}, {64 << 10, http.StatusRequestHeaderFieldsTooLarge}} {
		request, _ := http.NewRequest(http.MethodGet, "http://"+p.Addr()+"/healthz", nil)
		request.Header.Set("X-Padding", strings.Repeat("x", tc.bytes))
		response, err := http.DefaultClient.Do(request)
		if err != nil {
			t.Fatalf("%d bytes of headers: %v", tc.bytes, err)
		}
		response.Body.Close()
		if response.StatusCode != tc.status {
			t.Errorf("%d bytes of headers: %d, want %d", tc.bytes, response.StatusCode, tc.status)
		}
	}
}

// An idle keep-alive connection is closed by the balancer, as by a node.
func TestIdleKeepAliveConnectionsAreClosed(t *testing.T) {
	n1 := newEchoBackend(t, "n1")
	p, err := Start(context.Background(), Config{Listen: "127.0.0.1:0", IdleTimeout: 100 * time.Millisecond, Logger: testLogger(),
		Balance: balance.Config{Backends: []balance.Backend{{Name: "n1", Addr: n1.addr()}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	conn, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: balancer\r\n\r\n")
	reader := bufio.NewReader(conn)
	response, err := http.ReadResponse(reader, nil)
	if err != nil || response.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", response, err)
	}
	io.Copy(io.Discard, response.Body)
	// The balancer hangs up on its own; the deadline only keeps a failure
	// from hanging the test.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := reader.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: %v, want EOF (closed by the balancer)", err)
	}
}
