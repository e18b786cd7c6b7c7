package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"chatlab/system/balance"
)

func TestBalancerBadFlags(t *testing.T) {
	base := []string{"balancer", "--listen", "127.0.0.1:0"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no backends", base, "chatlab balancer: --backends is required"},
		{"not name=addr", append(base, "--backends", "127.0.0.1:1"), `"127.0.0.1:1" is not NAME=HOST:PORT`},
		{"bad name", append(base, "--backends", "n 1=127.0.0.1:1"), `node name "n 1"`},
		{"no host", append(base, "--backends", "n1=:8080"), `n1=":8080": want HOST:PORT`},
		{"bad port", append(base, "--backends", "n1=127.0.0.1:http"), `n1="127.0.0.1:http": want HOST:PORT`},
		{"twice", append(base, "--backends", "n1=127.0.0.1:1,n1=127.0.0.1:2"), `node "n1" named twice`},
		{"policy", append(base, "--backends", "n1=127.0.0.1:1", "--policy", "random"), `--policy "random": want round-robin`},
		{"interval", append(base, "--backends", "n1=127.0.0.1:1", "--health-interval", "1ms"), "--health-interval 1ms: want 10ms"},
		{"load factor", append(base, "--backends", "n1=127.0.0.1:1", "--hash-load-factor", "1"), "--hash-load-factor 1: want more than 1"},
		{"socket buffer", append(base, "--backends", "n1=127.0.0.1:1", "--socket-buffer", "99999999"), "--socket-buffer 99999999: want 0"},
		{"shed rate", append(base, "--backends", "n1=127.0.0.1:1", "--shed-per-second", "0"), "--shed-per-second 0: want 1 to"},
		{"admin listen", append(base, "--backends", "n1=127.0.0.1:1", "--admin-listen", "nowhere"), `--admin-listen "nowhere": want host:port`},
		{"admin token file", append(base, "--backends", "n1=127.0.0.1:1", "--admin-token-file", "/nonexistent/token"), "--admin-token-file: open /nonexistent/token"},
		{"short admin token", append(base, "--backends", "n1=127.0.0.1:1", "--admin-token-file", shortToken(t)), "want at least 16 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCommand(t, context.Background(), tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "Run 'bin/chatlab balancer --help'") {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
}

func shortToken(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBalancerHelp(t *testing.T) {
	code, stdout, _ := runCommand(t, context.Background(), "balancer", "--help")
	if code != 0 || !strings.Contains(stdout, "-backends") || !strings.Contains(stdout, "-rebalance") {
		t.Fatalf("exit %d, help %q", code, stdout)
	}
}

// TestBalancerServesAndDrainsOnSignal runs the command in front of a node
// that is not there, checks /healthz and /state, then cancels (as SIGTERM
// does) and expects a clean exit.
func TestBalancerServesAndDrainsOnSignal(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	adminListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminAddr := adminListener.Addr().String()
	adminListener.Close()
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int)
	go func() {
		code, _, _ := runCommand(t, ctx, "balancer", "--listen", addr, "--admin-listen", adminAddr, "--backends", "n1=127.0.0.1:1,n2=127.0.0.1:2",
			"--policy", "hash-user", "--rebalance", "--log-level", "error")
		exited <- code
	}()
	deadline := time.Now().Add(10 * time.Second)
	var response *http.Response
	for {
		response, err = http.Get("http://" + addr + "/healthz")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || response.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %v %v", response, err)
	}
	response.Body.Close()
	response, err = http.Get("http://" + adminAddr + "/state")
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Balancer balance.Snapshot `json:"balancer"`
	}
	json.NewDecoder(response.Body).Decode(&state)
	response.Body.Close()
	if state.Balancer.Policy != balance.HashUser || !state.Balancer.Rebalance || len(state.Balancer.Backends) != 2 {
		t.Fatalf("/state %+v", state.Balancer)
	}
	cancel()
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("exit %d after the signal", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the balancer did not exit after the signal")
	}
}
