package dashboard

import (
	"bytes"
	"encoding/json"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// The contract between this package and the browser (src/feed.ts,
// src/components/RunsView.tsx): Go writes a sample of every feed event and
// of /api/runs into src/testdata, and Vitest (src/contract.test.ts) runs
// them through the reducer and the views. A Go change that the samples do
// not show fails here; a TypeScript change that no longer reads them fails
// there. `go test ./dashboard -run Samples -update` rewrites them.

var update = flag.Bool("update", false, "rewrite the samples under src/testdata")

const testdata = "src/testdata"

// declaredValues reads feed_events.go and returns, for each of the named
// types, the values of the constants declared with it: a new kind, mode or
// state is in the contract as soon as it is declared.
func declaredValues(t *testing.T, types ...string) map[string][]string {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), "feed_events.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string][]string{}
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			value := spec.(*ast.ValueSpec)
			ident, ok := value.Type.(*ast.Ident)
			if !ok || !slices.Contains(types, ident.Name) || len(value.Values) != 1 {
				continue
			}
			literal, ok := value.Values[0].(*ast.BasicLit)
			if !ok {
				t.Fatalf("constant %s of %s is not a literal", value.Names[0].Name, ident.Name)
			}
			text, err := strconv.Unquote(literal.Value)
			if err != nil {
				t.Fatal(err)
			}
			values[ident.Name] = append(values[ident.Name], text)
		}
	}
	for _, name := range types {
		if len(values[name]) == 0 {
			t.Fatalf("feed_events.go declares no %s constants", name)
		}
	}
	return values
}

// feedSamples is a run of each declared mode, with every kind of event and
// every component state, optional fields both set and left out.
func feedSamples(modes []RunMode) []Event {
	var events []Event
	for i, mode := range modes {
		seed := uint64(i + 1)
		run := Run{Mode: mode, State: RunRunning}
		if mode != ModeWatch {
			run = Run{Mode: mode, Scenario: "node-restart", Target: string(mode), Seed: seed, Delivery: "recover",
				Pace: 1, State: RunRunning}
		}
		events = append(events, run,
			Topology{Nodes: []string{"n1", "n2", "n3"}, Balancer: "balancer", Redis: "redis"},
			Component{TMs: 0, Name: "n1", State: StateUp},
			Component{TMs: 0, Name: "n2", State: StateUp},
			Stats{TMs: 1000, SendsPerS: 20, DeliveriesPerS: 1400, Latency: &Latency{P50Ms: 4, P99Ms: 31},
				Connections: map[string]int{"n1": 30, "n2": 30}},
			Fault{AtMs: 8000, Action: "restart", Target: "n1", DurationMs: 4000},
			Component{TMs: 8000, Name: "n1", State: StateDown},
			Component{TMs: 8500, Name: "n2", State: StatePaused},
			Component{TMs: 9000, Name: "n2", State: StateDraining, PartitionedFrom: []string{"redis"}},
			Stats{TMs: 9000, SendsPerS: 18, DeliveriesPerS: 900, Connections: map[string]int{"n2": 60}},
			Check{Name: "no-loss", Pending: true, Detail: "judged once the run is quiet"},
			Check{Name: "order", OK: false, Violations: 2, Detail: "2 messages out of order"},
			Log{TMs: 9500, Text: "n1 restarted"},
			Component{TMs: 12000, Name: "n1", State: StateUp},
		)
		if mode != ModeWatch {
			done := run
			done.State, done.TMs, done.Verdict, done.Report = RunDone, 20000, "fail", "20261201-000000-node-restart-seed"+strconv.Itoa(i+1)
			events = append(events, done)
		}
	}
	return events
}

func encodeSamples(events []Event) []byte {
	var out bytes.Buffer
	for _, event := range events {
		out.Write(Encode(event))
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// checkSample compares a sample with its file, or rewrites the file.
func checkSample(t *testing.T, name string, want []byte) {
	t.Helper()
	path := filepath.Join(testdata, name)
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: make it with `go test ./dashboard -run Samples -update`", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what Go sends today: rewrite it with `go test ./dashboard -run Samples -update` "+
			"and make src/contract.test.ts and the views read what changed", path)
	}
}

func TestFeedSamplesCoverTheContract(t *testing.T) {
	declared := declaredValues(t, "Kind", "RunMode", "RunState", "ComponentState")
	var modes []RunMode
	for _, mode := range declared["RunMode"] {
		modes = append(modes, RunMode(mode))
	}
	events := feedSamples(modes)
	seen := map[string]map[string]bool{"Kind": {}, "RunMode": {}, "RunState": {}, "ComponentState": {}}
	for _, event := range events {
		seen["Kind"][string(event.Kind())] = true
		switch e := event.(type) {
		case Run:
			seen["RunMode"][string(e.Mode)] = true
			seen["RunState"][string(e.State)] = true
		case Component:
			seen["ComponentState"][string(e.State)] = true
		}
	}
	for name, values := range declared {
		for _, value := range values {
			if !seen[name][value] {
				t.Errorf("the feed samples have no %s %q: add it to feedSamples", name, value)
			}
		}
	}
	checkSample(t, "feed.jsonl", encodeSamples(events))
	modesJSON, err := json.MarshalIndent(declared, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	checkSample(t, "declared.json", append(modesJSON, '\n'))
}

// The list of past runs, as /api/runs serves it, for a run whose
// report.json is the sample a real sim run wrote (cmd/chatlab's
// TestReportSampleHasTheReportShape keeps it current) and for a run whose
// report cannot be read.
func TestRunsSampleIsWhatTheListServes(t *testing.T) {
	report, err := os.ReadFile(filepath.Join(testdata, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	runs := t.TempDir()
	when := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	writeRun(t, runs, "20261201-100000-node-restart-seed1", string(report), when)
	writeRun(t, runs, "20261201-090000-broken", `{"scenario":`, when.Add(-time.Hour))
	status, body := get(t, Handler(Options{RunsDir: runs}), "/api/runs")
	if status != 200 {
		t.Fatalf("GET /api/runs: %d %s", status, body)
	}
	var list []RunSummary
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Problem != "" || list[1].Problem == "" {
		t.Fatalf("runs = %+v, want the sample's run and a broken one", list)
	}
	pretty, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	checkSample(t, "runs.json", append(pretty, '\n'))
}
