package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"chatlab/scenarios"
)

// Bad hunt and shrink flags exit 2 with the problem named.
func TestHuntBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"hunt"}, "say how much to hunt: --runs N or --for DURATION"},
		{[]string{"hunt", "--runs", "-1"}, "--runs -1: want 1 to"},
		{[]string{"hunt", "--runs", "3", "--shard", "3/2"}, `--shard "3/2": want I/N with 1 <= I <= N`},
		{[]string{"hunt", "--runs", "3", "--mutation", "melt"}, `unknown mutation "melt"`},
		{[]string{"hunt", "--runs", "3", "--seed", "x"}, `--seed "x": want a whole number`},
		{[]string{"hunt", "--runs", "3", "stray"}, `unexpected argument "stray"`},
		{[]string{"hunt", "--merge"}, "--merge needs the hunts' output directories after it"},
		{[]string{"chaos", "--scenario", "flood", "--shard", "1/2"}, "--shard splits a sweep: it needs --seeds A-B"},
		{[]string{"chaos", "--scenario", "flood", "--seeds", "1-4", "--shrink"}, "--shrink shrinks one failing run on the simulator"},
	} {
		code, _, stderr := runCommand(t, context.Background(), tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// A hunt of the planted drop bug finds it, writes the failing scenario and
// a shrunk one that replay with chatlab chaos --file, and --merge of its
// directory prints the same table.
func TestHuntFindsAPlantedBugAndShrinksIt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the simulator")
	}
	out := t.TempDir()
	code, stdout, stderr := runCommand(t, context.Background(), "hunt", "--runs", "3", "--seed", "2", "--mutation", "drop",
		"--out", out, "--shrink-budget", "20s")
	if code != 1 || !strings.Contains(stdout, "hunt seed 2: 3 runs") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	shrunk, _ := filepath.Glob(filepath.Join(out, "failures", "*-min.yaml"))
	if len(shrunk) == 0 {
		t.Fatalf("no shrunk scenario written:\n%s", stdout)
	}
	data, err := os.ReadFile(shrunk[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := scenarios.Parse(shrunk[0], data); err != nil {
		t.Fatal(err)
	}
	replay := ""
	for _, line := range strings.Split(string(data), "\n") {
		if after, ok := strings.CutPrefix(line, "# Replay: "+invocation+" "); ok {
			replay = after
		}
	}
	if replay == "" {
		t.Fatalf("no replay line:\n%s", data)
	}
	code, _, stderr = runCommand(t, context.Background(), append(strings.Fields(replay), "--out", t.TempDir())...)
	if code != 1 {
		t.Errorf("the shrunk scenario's replay exited %d, want 1 (it still fails):\n%s", code, stderr)
	}
	code, merged, _ := runCommand(t, context.Background(), "hunt", "--merge", out)
	if code != 1 || merged == "" || !strings.HasPrefix(stdout, merged) {
		t.Errorf("merge of one hunt (exit %d):\n%s\nthe hunt printed:\n%s", code, merged, stdout)
	}
}
