package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDashboardBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "7070"}, `--listen "7070": want host:port`},
		{[]string{"--nodes", "n1"}, `--nodes: "n1" is not NAME=HOST:PORT`},
		{[]string{"--nodes", "redis=127.0.0.1:1"}, `node name "redis"`},
		{[]string{"--nodes", "n1=127.0.0.1:1,n1=127.0.0.1:2"}, `node "n1" named twice`},
		{[]string{"--balancer", "nowhere"}, `--balancer "nowhere": want HOST:PORT`},
		{[]string{"--poll-interval", "1ms"}, "--poll-interval 1ms: want 100ms to 1m0s"},
	} {
		code, _, stderr := runCommand(t, context.Background(), append([]string{"dashboard"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("dashboard %v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestDashboardServesUntilInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	stdout, stderr := new(lockedBuffer), new(lockedBuffer)
	go func() {
		done <- run(ctx, []string{"dashboard", "--listen", "127.0.0.1:0", "--runs", t.TempDir()}, stdout, stderr)
	}()
	// The address is printed once the dashboard listens.
	deadline := time.Now().Add(10 * time.Second)
	var url string
	for url == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no address printed; stderr %q", stderr.String())
		}
		select {
		case code := <-done:
			t.Fatalf("dashboard exited %d early; stderr %q", code, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		url, _ = strings.CutPrefix(strings.TrimSpace(stdout.String()), "chatlab dashboard: ")
	}
	response, err := http.Get(url + "api/runs")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(response.Body)
	response.Body.Close()
	if response.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "[]" {
		t.Errorf("GET /api/runs: %s %q, want 200 []", response.Status, body)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after interrupt, want 0", code)
	}
}

// lockedBuffer is output a command writes while the test reads it.
type lockedBuffer struct {
	mu   sync.Mutex
	text strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.text.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.text.String()
}
