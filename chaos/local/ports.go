package local

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// readyPollInterval paces the polls of a starting process.
const readyPollInterval = 20 * time.Millisecond

// handedOut are the ports freePort has returned in this process: the
// kernel may give a port it just freed to the next ask, and two listeners
// of one cluster (a balancer's public and admin ports) must not share it.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// freePortTries bounds the asks for a port not handed out before.
const freePortTries = 100

// freePort asks the kernel for a free port on 127.0.0.1 that this process
// has not handed out before. The port is free when asked; a child binds it
// a moment later, which another process could race, so a failed start is
// reported, not retried blindly.
func freePort() (int, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	for range freePortTries {
		listener, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := listener.Addr().(*net.TCPAddr).Port
		listener.Close()
		if !handedOut.ports[port] {
			handedOut.ports[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("no loopback port not handed out before in %d asks", freePortTries)
}

// freeAddr is a free loopback host:port.
func freeAddr() (string, error) {
	port, err := freePort()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), err
}

// waitTCP polls until addr accepts a connection or ctx ends.
func waitTCP(ctx context.Context, addr string) error {
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never accepted: %w", addr, err)
		case <-time.After(readyPollInterval):
		}
	}
}

// waitHTTP polls url until it answers 200, or ctx ends (or exited is
// closed: the process died while starting).
func waitHTTP(ctx context.Context, url string, exited <-chan struct{}) error {
	client := http.Client{Timeout: time.Second}
	var last string
	for {
		response, err := client.Get(url)
		if err == nil {
			response.Body.Close()
			if response.StatusCode == http.StatusOK {
				return nil
			}
			last = response.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never answered 200 (last: %s)", url, last)
		case <-exited:
			return fmt.Errorf("exited before %s answered", url)
		case <-time.After(readyPollInterval):
		}
	}
}
