package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"chatlab/system/server"
)

const testSecret = "0123456789abcdef0123456789abcdef"

// runCommand runs chatlab with args and returns the exit code and output.
func runCommand(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// Every bad flag exits 2 with one line naming the problem and a hint.
func TestBadFlags(t *testing.T) {
	t.Setenv(secretEnv, testSecret)
	shortSecret := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(shortSecret, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	node := []string{"node", "--id", "n1", "--listen", "127.0.0.1:0"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "chatlab: missing command"},
		{"unknown command", []string{"fly"}, `chatlab: unknown command "fly"`},
		{"help unknown", []string{"help", "fly"}, `chatlab: unknown command "fly"`},
		{"undefined flag", []string{"node", "--speed", "9"}, "chatlab node: flag provided but not defined: -speed"},
		{"stray argument", append(node, "extra"), `chatlab node: unexpected argument "extra"`},
		{"missing id", []string{"node"}, "chatlab node: --id is required"},
		{"bad id", []string{"node", "--id", "n 1"}, `chatlab node: --id "n 1": want 1 to 32 characters`},
		{"long id", []string{"node", "--id", strings.Repeat("n", 33)}, "want 1 to 32 characters"},
		{"listen without port", []string{"node", "--id", "n1", "--listen", "localhost"}, `--listen "localhost": want host:port`},
		{"listen bad port", []string{"node", "--id", "n1", "--listen", ":http"}, `--listen ":http": port "http" is not a number`},
		{"listen port too big", []string{"node", "--id", "n1", "--listen", ":70000"}, `port "70000" is not a number from 0 to 65535`},
		{"bad redis", append(node, "--redis", "http://x"), `chatlab node: --redis "http://x": redis: invalid URL scheme: http`},
		{"bad delivery", append(node, "--delivery", "fast"), `chatlab node: --delivery "fast": want recover or pubsub`},
		{"bad auth", append(node, "--auth", "maybe"), `chatlab node: --auth "maybe": want on or off`},
		{"missing secret file", append(node, "--secret-file", "/nonexistent"), "chatlab node: auth is on: --secret-file: open /nonexistent"},
		{"short secret", append(node, "--secret-file", shortSecret), "chatlab node: auth is on: secret is 5 bytes; it must be at least 16"},
		{"bad origin", append(node, "--allowed-origins", "example.com"), `--allowed-origins: origin "example.com": want scheme://host[:port]`},
		{"zero queue", append(node, "--send-queue-len-max", "0"), "chatlab node: --send-queue-len-max 0: want 1 to 65536"},
		{"negative rate", append(node, "--rate-per-second", "-1"), "chatlab node: --rate-per-second -1: want 1 to"},
		{"not an int", append(node, "--rate-burst", "many"), `chatlab node: invalid value "many" for flag -rate-burst`},
		{"zero ring", append(node, "--recent-len-max", "0"), "chatlab node: --recent-len-max 0: want 1 to 1048576"},
		{"huge history", append(node, "--history-len-max", "99999999"), "chatlab node: --history-len-max 99999999: want 1 to 16777216"},
		{"tiny socket buffer", append(node, "--socket-buffer", "100"), "chatlab node: --socket-buffer 100: want 0 (the kernel's default) or 4096 to 16777216 bytes"},
		{"zero drain", append(node, "--drain-timeout", "0s"), "chatlab node: --drain-timeout 0s: want more than 0"},
		{"zero room poll", append(node, "--room-poll-interval", "0s"), "chatlab node: --room-poll-interval 0s: want more than 0"},
		{"zero pub/sub buffer", append(node, "--pubsub-buffer", "0"), "chatlab node: --pubsub-buffer 0: want 1 to 1048576"},
		{"bad log format", append(node, "--log-format", "xml"), `chatlab node: --log-format "xml": want text or json`},
		{"bad log level", append(node, "--log-level", "loud"), `chatlab node: --log-level "loud": want debug, info, warn or error`},
		{"token without user", []string{"token"}, "chatlab token: --user is required"},
		{"token bad user", []string{"token", "--user", "a/b"}, `chatlab token: --user "a/b": user has '/' at byte 1`},
		{"token bad ttl", []string{"token", "--user", "a", "--ttl", "-1h"}, "chatlab token: --ttl -1h0m0s: want more than 0"},
		{"token short secret", []string{"token", "--user", "a", "--secret-file", shortSecret}, "chatlab token: secret is 5 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCommand(t, context.Background(), tc.args...)
			if code != 2 {
				t.Fatalf("exit %d; want 2 (stderr %q)", code, stderr)
			}
			if stdout != "" {
				t.Fatalf("stdout %q; a usage error writes only to stderr", stdout)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr %q; want it to contain %q", stderr, tc.want)
			}
			if !strings.Contains(stderr, "--help") {
				t.Fatalf("stderr %q has no hint to --help", stderr)
			}
		})
	}
}

func TestSecretRequiredWhenAuthOn(t *testing.T) {
	t.Setenv(secretEnv, "")
	code, _, stderr := runCommand(t, context.Background(), "node", "--id", "n1")
	if code != 2 || !strings.Contains(stderr, "auth is on: no secret: pass --secret-file or set CHATLAB_SECRET (or --auth off for lab runs)") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"-h"}} {
		code, stdout, _ := runCommand(t, context.Background(), args...)
		if code != 0 || !strings.Contains(stdout, "node ") || !strings.Contains(stdout, "token ") {
			t.Fatalf("%v: exit %d, stdout %q", args, code, stdout)
		}
	}
	for _, tc := range []struct {
		command string
		args    []string
	}{
		{"node", []string{"node", "--help"}},
		{"node", []string{"help", "node"}},
		{"token", []string{"token", "-h"}},
		{"token", []string{"help", "token"}},
	} {
		code, stdout, stderr := runCommand(t, context.Background(), tc.args...)
		if code != 0 || !strings.Contains(stdout, "Usage: bin/chatlab "+tc.command+" [flags]") {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q", tc.args, code, stdout, stderr)
		}
		if !strings.Contains(stdout, "-secret-file") {
			t.Fatalf("%v: usage lists no flags: %q", tc.args, stdout)
		}
	}
}

func TestTokenMintsAVerifiableToken(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCommand(t, context.Background(), "token", "--user", "alice", "--ttl", "1h", "--secret-file", secretFile)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	claims, err := server.VerifyToken([]byte(testSecret), strings.TrimSpace(stdout), time.Now())
	if err != nil || claims.User != "alice" || claims.Rooms != nil {
		t.Fatalf("token verifies as %+v, %v; want alice without a rooms claim", claims, err)
	}
	code, roomsToken, stderr := runCommand(t, context.Background(), "token", "--user", "alice", "--rooms", "a,b,team-*", "--secret-file", secretFile)
	if code != 0 {
		t.Fatalf("--rooms: exit %d, stderr %q", code, stderr)
	}
	if claims, err := server.VerifyToken([]byte(testSecret), strings.TrimSpace(roomsToken), time.Now()); err != nil ||
		strings.Join(claims.Rooms, ",") != "a,b,team-*" {
		t.Fatalf("--rooms a,b,team-* verifies as %+v, %v", claims, err)
	}
	if code, _, stderr := runCommand(t, context.Background(), "token", "--user", "alice", "--rooms", "a,,b", "--secret-file", secretFile); code != 2 ||
		!strings.Contains(stderr, "room pattern is empty") {
		t.Fatalf("--rooms a,,b: exit %d, stderr %q; want 2 naming the empty room", code, stderr)
	}
	if _, err := server.VerifyToken([]byte(testSecret), strings.TrimSpace(stdout), time.Now().Add(2*time.Hour)); err == nil {
		t.Fatal("a 1h token still verifies after 2h")
	}
}

// The node command serves until its context ends (SIGTERM in main), then
// drains and exits 0.
func TestNodeRunsUntilSignal(t *testing.T) {
	m := miniredis.RunT(t)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		done <- run(ctx, []string{"node", "--id", "n1", "--listen", addr, "--redis", "redis://" + m.Addr(),
			"--auth", "off", "--log-format", "json"}, &bytes.Buffer{}, &stderr)
	}()
	waitReady(t, addr, done)
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d; stderr %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("node did not exit after its context ended")
	}
	if !strings.Contains(stderr.String(), `"msg":"drained"`) {
		t.Fatalf("no drained log line in %s", stderr.String())
	}
}

func waitReady(t *testing.T, addr string, exited <-chan int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case code := <-exited:
			t.Fatalf("node exited with %d before it was ready", code)
		default:
		}
		response, err := http.Get(fmt.Sprintf("http://%s/readyz", addr))
		if err == nil {
			response.Body.Close()
			if response.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("node not ready within 10s")
}
