package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"chatlab/system/broker"
	"chatlab/system/server"
)

// Every bad load or up flag exits 2 with a line naming it.
func TestLoadAndUpBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"load"}, "--url is required"},
		{[]string{"load", "--url", "http://127.0.0.1:1/ws"}, "want ws://"},
		{[]string{"load", "--url", "ws://127.0.0.1:1/ws", "--clients", "0"}, "clients 0"},
		{[]string{"load", "--url", "ws://127.0.0.1:1/ws", "--rate", "3/h"}, `unit "h"`},
		{[]string{"load", "--url", "ws://127.0.0.1:1/ws", "--rate", "fast"}, "--rate"},
		{[]string{"load", "--url", "ws://127.0.0.1:1/ws", "--size", "100000"}, "message size"},
		{[]string{"load", "--url", "ws://127.0.0.1:1/ws", "--duration", "0s"}, "duration"},
		{[]string{"load", "--url", "ws://127.0.0.1:1/ws", "--node-pid", "1"}, "with --idle"},
		{[]string{"load", "--url", "ws://127.0.0.1:1/ws", "--senders", "5", "--clients", "2"}, "senders 5"},
		{[]string{"up", "--nodes", "0"}, "--nodes 0"},
		{[]string{"up", "--redis", "memcached"}, "--redis"},
		{[]string{"up", "--policy", "random"}, "--policy"},
		{[]string{"up", "--dashboard", "nowhere"}, "--dashboard"},
	} {
		code, _, stderr := runCommand(t, context.Background(), tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestParseRate(t *testing.T) {
	for text, want := range map[string]float64{"2/s": 2, "30/min": 0.5, "0.5": 0.5, "0/s": 0} {
		if got, err := parseRate(text); err != nil || got != want {
			t.Errorf("parseRate(%q) = %g, %v; want %g", text, got, err, want)
		}
	}
}

// A short load run against a real node prints the table and writes JSON.
func TestLoadRunsAgainstANode(t *testing.T) {
	redis := miniredis.RunT(t)
	b, err := broker.NewRedis(broker.RedisConfig{URL: "redis://" + redis.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv, err := server.Start(context.Background(), server.Config{ID: "n1", Listen: "127.0.0.1:0", Broker: b,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "load.json")
	code, stdout, stderr := runCommand(t, context.Background(), "load", "--url", "ws://"+srv.Addr()+"/ws",
		"--clients", "6", "--rooms", "2", "--rate", "4/s", "--duration", "1s", "--json", out, "--idle=false",
		"--node-pid", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "deliveries/s") || !strings.Contains(stdout, "latency ms") {
		t.Fatalf("no summary table:\n%s", stdout)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		Counts struct {
			Sent  uint64 `json:"sent"`
			Acked uint64 `json:"acked"`
		} `json:"counts"`
		Missing uint64 `json:"missing"`
	}
	if err := json.Unmarshal(data, &report); err != nil {
		t.Fatal(err)
	}
	if report.Counts.Sent == 0 || report.Counts.Acked != report.Counts.Sent || report.Missing != 0 {
		t.Fatalf("json report %s", data)
	}
}
