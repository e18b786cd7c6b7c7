package hunt

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"chatlab/chaos"
	"chatlab/chaos/check"
	"chatlab/scenarios"
)

// A new fault action of the format gets a maker, or generation would
// silently never draw it.
func TestEveryActionHasAMaker(t *testing.T) {
	for _, action := range scenarios.Actions() {
		if faultMakers[action] == nil && !action.NeedsRedisCluster() {
			t.Errorf("fault action %q has no maker in faultMakers", action)
		}
	}
}

// Generated scenarios are valid files (they went through the parser, and
// their encoding parses back to them), and over many runs every fault
// action is drawn.
func TestGenerateMakesValidScenariosWithEveryAction(t *testing.T) {
	// Resume needs a pause without a window before it: the rarest draw.
	const generatedRuns = 600
	drawn := map[scenarios.Action]int{}
	for index := range generatedRuns {
		s := Generate(7, index)
		back, err := scenarios.Parse("x.yaml", s.Encode(""))
		if err != nil {
			t.Fatalf("run %d: generated scenario refused: %v\n%s", index, err, s.Encode(""))
		}
		back.File = s.File
		if !reflect.DeepEqual(back, s) {
			t.Fatalf("run %d: the encoding does not read back as the scenario", index)
		}
		for _, f := range s.Faults {
			drawn[f.Action]++
		}
	}
	for _, action := range scenarios.Actions() {
		if drawn[action] == 0 && !action.NeedsRedisCluster() {
			t.Errorf("%d generated scenarios never drew %s", generatedRuns, action)
		}
	}
	t.Logf("faults drawn: %v", drawn)
}

// The same seed generates the same scenarios; another seed others.
func TestGenerateIsDeterministic(t *testing.T) {
	for index := range 20 {
		a, b := Generate(42, index), Generate(42, index)
		if !bytes.Equal(a.Encode(""), b.Encode("")) {
			t.Fatalf("run %d: two generations differ", index)
		}
		if a.Hash() == Generate(43, index).Hash() {
			t.Errorf("run %d: seeds 42 and 43 generate the same scenario", index)
		}
	}
}

// fakeRun stands in for the simulator: the run fails no-loss when the
// scenario has at least 3 clients, 2 rooms and a kill, whatever else it
// has; every other check holds.
func fakeRun(runs *int) Runner {
	return func(_ context.Context, sc *scenarios.Scenario, seed uint64) (*chaos.Result, error) {
		if runs != nil {
			*runs++
		}
		bug := sc.Workload.Clients >= 3 && sc.Workload.Rooms >= 2 &&
			slices.ContainsFunc(sc.Faults, func(f scenarios.Fault) bool { return f.Action == scenarios.Kill })
		r := &chaos.Result{Scenario: sc, Seed: seed, Verdict: "pass", Target: "sim", Delivery: sc.Topology.Delivery}
		for _, p := range sc.Expect.Hold {
			r.Checks = append(r.Checks, check.Check{Name: string(p), OK: !(bug && p == scenarios.NoLoss)})
		}
		if bug {
			r.Verdict = "fail"
		}
		return r, nil
	}
}

func bigFailing(t *testing.T) *scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Parse("big.yaml", []byte(`name: big
description: a failing scenario with much in it that does not matter
topology: {nodes: 4, policy: hash-user, redis_persistence: aof, recent_len_max: 20}
workload: {clients: 20, rooms: 4, send_rate: 2/s, duration: 18s, join_leave: 2/min, reconnects: 1/min, message_bytes: 300}
faults:
  - {at: 2s, action: delay, target: n2-redis, latency: 50ms, duration: 3s}
  - {at: 4s, action: pause, target: redis}
  - {at: 5s, action: resume, target: redis}
  - {at: 7s, action: kill, target: n1, duration: 2s}
  - {at: 9s, action: away, clients: 5, duration: 4s}
  - {at: 10s, action: flood, clients: 2, duration: 2s}
expect:
  hold: [no-loss, no-duplicates, order, liveness]
`))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Shrinking finds the fake bug's minimum: 3 clients, 2 rooms, the kill
// alone, one node, every knob at its default.
func TestShrinkReachesTheMinimum(t *testing.T) {
	s := bigFailing(t)
	first, _ := fakeRun(nil)(context.Background(), s, 5)
	runs := 0
	shrunk, err := Shrink(context.Background(), s, first, ShrinkOptions{Run: fakeRun(&runs), Seed: 5, Check: "no-loss"})
	if err != nil {
		t.Fatal(err)
	}
	got := shrunk.Scenario
	if !shrunk.Minimal || got.Workload.Clients != 3 || got.Workload.Rooms != 2 || len(got.Faults) != 1 ||
		got.Faults[0].Action != scenarios.Kill || len(got.Topology.Nodes) != 1 {
		t.Fatalf("shrunk to %s (minimal %v):\n%s", shrunk.After, shrunk.Minimal, got.Encode(""))
	}
	if got.Topology.Policy != "least-conn" || got.Workload.JoinLeave != 0 || got.Workload.MessageBytes != 64 ||
		got.Topology.RedisPersistence != scenarios.PersistenceNone {
		t.Errorf("knobs not restored:\n%s", got.Encode(""))
	}
	if got.Faults[0].At > 1100*time.Millisecond || got.Workload.Duration > 3*time.Second {
		t.Errorf("the kill was not moved early nor the run cut short:\n%s", got.Encode(""))
	}
	if shrunk.Candidates != runs || runs == 0 {
		t.Errorf("candidates %d, runs %d", shrunk.Candidates, runs)
	}
	if shrunk.Before.Clients != 20 || shrunk.After.Clients != 3 || len(shrunk.Removed) == 0 {
		t.Errorf("before %v after %v removed %v", shrunk.Before, shrunk.After, shrunk.Removed)
	}
	comment := shrunk.Comment("chatlab chaos --file x.yaml --seed 5")
	file := got.Encode(comment)
	if _, err := scenarios.Parse("min.yaml", file); err != nil || !strings.Contains(string(file), "# Replay: chatlab chaos --file x.yaml --seed 5") {
		t.Errorf("written file (%v):\n%s", err, file)
	}
	// The same input shrinks to the same result.
	again, _ := Shrink(context.Background(), s, first, ShrinkOptions{Run: fakeRun(nil), Seed: 5, Check: "no-loss"})
	if again.Scenario.Hash() != got.Hash() || !slices.Equal(again.Removed, shrunk.Removed) {
		t.Errorf("a second shrink differs")
	}
}

// A shrink that runs out of candidates says so rather than claiming a
// minimum.
func TestShrinkStopsAtItsBound(t *testing.T) {
	s := bigFailing(t)
	first, _ := fakeRun(nil)(context.Background(), s, 5)
	shrunk, err := Shrink(context.Background(), s, first, ShrinkOptions{Run: fakeRun(nil), Seed: 5, Check: "no-loss", CandidatesMax: 3})
	if err != nil {
		t.Fatal(err)
	}
	if shrunk.Minimal || shrunk.Candidates != 3 {
		t.Errorf("minimal %v after %d candidates", shrunk.Minimal, shrunk.Candidates)
	}
}

// A shrink keeps the failing check: a smaller scenario that fails another
// check is not taken.
func TestShrinkKeepsTheCheck(t *testing.T) {
	s := bigFailing(t)
	first, _ := fakeRun(nil)(context.Background(), s, 5)
	shrunk, _ := Shrink(context.Background(), s, first, ShrinkOptions{Run: fakeRun(nil), Seed: 5, Check: "order"})
	if shrunk.Scenario != s || len(shrunk.Removed) != 0 || !shrunk.Minimal {
		t.Errorf("shrunk toward a check that never failed: %v", shrunk.Removed)
	}
}

// fakeHuntRun fails a generated scenario by a rule of its content, so a
// hunt's outcome depends on what it generates only.
func fakeHuntRun(_ context.Context, sc *scenarios.Scenario, seed uint64) (*chaos.Result, error) {
	r := &chaos.Result{Scenario: sc, Seed: seed, Verdict: "pass", Target: "sim", Delivery: sc.Topology.Delivery}
	bad := len(sc.Faults) >= 2 && sc.Workload.Clients%3 == 0
	for _, p := range sc.Expect.Hold {
		r.Checks = append(r.Checks, check.Check{Name: string(p), OK: !(bad && p == scenarios.Order)})
	}
	if bad {
		r.Verdict = "fail"
	}
	return r, nil
}

// The union of N shards is exactly the unsharded hunt: the same runs,
// scenarios, seeds and verdicts, and --merge joins them into it.
func TestShardsUnionIsTheWholeHunt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	whole, err := Hunt(ctx, Options{Seed: 3, Runs: 23, Workers: 2, Run: fakeHuntRun, Shrink: true, Out: filepath.Join(dir, "whole")})
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Runs) != 23 || len(whole.Failures()) == 0 {
		t.Fatalf("whole hunt: %d runs, %d failures", len(whole.Runs), len(whole.Failures()))
	}
	var dirs []string
	for i := 1; i <= 4; i++ {
		shardDir := filepath.Join(dir, fmt.Sprintf("shard%d", i))
		dirs = append(dirs, shardDir)
		part, err := Hunt(ctx, Options{Seed: 3, Runs: 23, Workers: 2, Run: fakeHuntRun, Shrink: true, Out: shardDir,
			Shard: chaos.Shard{Index: i, Count: 4}})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range part.Runs {
			if r.Index%4 != i-1 {
				t.Errorf("shard %d/4 ran run %d", i, r.Index)
			}
		}
	}
	merged, err := Merge(dirs)
	if err != nil {
		t.Fatal(err)
	}
	if len(merged.Runs) != len(whole.Runs) {
		t.Fatalf("merged %d runs, whole %d", len(merged.Runs), len(whole.Runs))
	}
	for i := range whole.Runs {
		w, m := whole.Runs[i], merged.Runs[i]
		if w.Index != m.Index || w.Seed != m.Seed || w.ScenarioHash != m.ScenarioHash || w.Verdict != m.Verdict ||
			!slices.Equal(w.Failed, m.Failed) || (w.Shrunk == nil) != (m.Shrunk == nil) ||
			(w.Shrunk != nil && w.Shrunk.After != m.Shrunk.After) {
			t.Errorf("run %d differs: whole %+v, merged %+v", w.Index, w, m)
		}
	}
	if _, err := Merge([]string{dirs[0], dirs[0]}); err == nil {
		t.Error("merging a shard with itself was accepted")
	}
	var table bytes.Buffer
	PrintTable(&table, merged)
	if !strings.Contains(table.String(), "order") || !strings.Contains(table.String(), fmt.Sprintf("%d failed", len(whole.Failures()))) {
		t.Errorf("table:\n%s", table.String())
	}
	// Each failure was written as a scenario file that replays, with its
	// shrunk one beside it.
	for _, r := range whole.Failures() {
		for _, file := range []string{r.File, r.Shrunk.File} {
			if _, err := scenarios.LoadFile(file); err != nil {
				t.Errorf("run %d: %v", r.Index, err)
			}
		}
		if _, err := os.Stat(filepath.Join(r.Shrunk.Report, "report.json")); err != nil {
			t.Errorf("run %d: shrunk report: %v (%s)", r.Index, err, r.Error)
		}
	}
}

func TestParseShard(t *testing.T) {
	for _, bad := range []string{"0/4", "5/4", "1", "a/b", "1/0", "-1/2"} {
		if _, err := chaos.ParseShard(bad); err == nil {
			t.Errorf("--shard %s accepted", bad)
		}
	}
	s, err := chaos.ParseShard("2/3")
	if err != nil || !s.Has(4) || s.Has(5) || s.String() != "2/3" {
		t.Errorf("2/3: %+v %v", s, err)
	}
	// Counting from 0 (a Kubernetes Indexed Job's pods): 0/4 is 1/4, 3/4
	// is 4/4, 4/4 does not exist.
	for text, want := range map[string]chaos.Shard{"0/4": {Index: 1, Count: 4}, "3/4": {Index: 4, Count: 4}} {
		if got, err := chaos.ParseShardFrom(text, 0); err != nil || got != want {
			t.Errorf("%s from 0: %+v %v; want %+v", text, got, err, want)
		}
	}
	for _, bad := range []string{"4/4", "-1/4", "x/4"} {
		if _, err := chaos.ParseShardFrom(bad, 0); err == nil {
			t.Errorf("--shard %s --shard-base 0 accepted", bad)
		}
	}
	if _, err := chaos.ParseShardFrom("1/4", 2); err == nil {
		t.Error("--shard-base 2 accepted")
	}
}

// MaxFailures stops the hunt at its first failure: on one worker the runs
// end with the first failing one (and at most the one run the pool had
// already handed out), which is shrunk; without it the hunt goes on to
// every run.
func TestMaxFailuresStopsAtTheFirst(t *testing.T) {
	ctx := context.Background()
	whole, err := Hunt(ctx, Options{Seed: 3, Runs: 23, Workers: 1, Run: fakeHuntRun})
	if err != nil {
		t.Fatal(err)
	}
	failures := whole.Failures()
	if len(failures) < 2 || len(whole.Runs) != 23 {
		t.Fatalf("whole hunt: %d runs, %d failures; the test wants several failures", len(whole.Runs), len(failures))
	}
	first := failures[0].Index
	stopped, err := Hunt(ctx, Options{Seed: 3, Runs: 23, Workers: 1, Run: fakeHuntRun, MaxFailures: 1, Shrink: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(stopped.Runs); n < first+1 || n > first+2 || stopped.Failures()[0].Index != first {
		t.Fatalf("with MaxFailures 1: %d runs, failures %+v; want runs 0..%d (and at most one more)", n, stopped.Failures(), first)
	}
	if stopped.Failures()[0].Shrunk == nil {
		t.Error("the failure that stopped the hunt was not shrunk")
	}
}
