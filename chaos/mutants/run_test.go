package mutants

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// A mutant whose snippet no longer matches is broken, never survived: it
// must not count for or against the lab.
func TestRunReportsAStaleSnippetAsBroken(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "a.go"), []byte("package a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := Mutant{Name: "stale", File: "a.go", Original: "gone", Replacement: "x", Description: "d", Sweep: SweepSim}
	out := Run(context.Background(), m, Options{Root: root, WorkDir: t.TempDir(), SimSeeds: 1, SimRunTimeout: time.Second})
	if out.Status != Broken || !strings.Contains(out.Detail, "not found") || out.Runs != 0 {
		t.Errorf("outcome %+v; want broken, naming the snippet, with no run", out)
	}
}

// The checks that failed are read from the run's report.json; a check
// that met its expectation is not a kill.
func TestFailedChecksReadsTheReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.json")
	report := `{"checks":[{"name":"no-loss","ok":false,"detail":"3 lost"},{"name":"order","ok":true},{"name":"resume","ok":false,"detail":"x"}]}`
	if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	failed, detail, err := failedChecks(path)
	if err != nil || !slices.Equal(failed, []string{"no-loss", "resume"}) || detail != "3 lost" {
		t.Errorf("failed %v, detail %q, err %v", failed, detail, err)
	}
}

func TestOrderedPutsAMutantsScenariosFirst(t *testing.T) {
	got := ordered([]string{"c", "nope", "a"}, []string{"a", "b", "c", "d"})
	if !slices.Equal(got, []string{"c", "a", "b", "d"}) {
		t.Errorf("order %v", got)
	}
}

// The hunt's outcome is read from hunt.json: the first failure, the time
// until it was found without its shrink, and the shrink's sizes. A stand-in
// binary writes what chatlab hunt writes and exits 1 as it does.
func TestHuntMutantReadsTheFirstFailure(t *testing.T) {
	dir := t.TempDir()
	summary := `{"seed":1,"wall_ms":9000,"runs":[` +
		`{"index":0,"seed":5,"scenario_hash":"a","verdict":"pass","wall_ms":1000},` +
		`{"index":1,"seed":6,"scenario_hash":"b","verdict":"fail","failed":["acks","no-loss"],"replay":"r1","wall_ms":7000,` +
		`"shrunk":{"check":"acks","before":{"nodes":3,"clients":12,"rooms":2,"faults":3,"duration_ms":20000,"sends":900},` +
		`"after":{"nodes":1,"clients":2,"rooms":1,"faults":0,"duration_ms":3000,"sends":12},"removed":["x"],"candidates":40,"minimal":true,"wall_ms":5000,"replay":"r2"}}]}`
	binary := filepath.Join(dir, "chatlab")
	script := "#!/bin/sh\nwhile [ $# -gt 0 ]; do [ \"$1\" = --out ] && out=$2; shift; done\nmkdir -p \"$out\"\ncat > \"$out/hunt.json\" <<'END'\n" + summary + "\nEND\nexit 1\n"
	if err := os.WriteFile(binary, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	h := huntMutant(context.Background(), binary, filepath.Join(dir, "hunt"), 1, time.Minute)
	if h.Error != "" || !h.Found || h.Check != "acks" || h.Runs != 2 || h.FoundSeconds != 3 || h.ShrinkSeconds != 5 ||
		h.Before.Clients != 12 || h.After.Clients != 2 || h.After.Faults != 0 || !h.Minimal || h.Replay != "r2" {
		t.Fatalf("outcome %+v", h)
	}
	if got := h.String(); !strings.Contains(got, "acks after 2 runs (3 s), shrunk 12 clients/3 faults -> 2/0 in 5 s") {
		t.Errorf("line %q", got)
	}
	// A hunt that found nothing exits 0 with only passing runs.
	pass := "#!/bin/sh\nwhile [ $# -gt 0 ]; do [ \"$1\" = --out ] && out=$2; shift; done\nmkdir -p \"$out\"\necho '{\"seed\":1,\"wall_ms\":1,\"runs\":[{\"index\":0,\"seed\":5,\"scenario_hash\":\"a\",\"verdict\":\"pass\",\"wall_ms\":1}]}' > \"$out/hunt.json\"\n"
	if err := os.WriteFile(binary, []byte(pass), 0o755); err != nil {
		t.Fatal(err)
	}
	if h := huntMutant(context.Background(), binary, filepath.Join(dir, "hunt2"), 1, time.Minute); h.Found || h.Error != "" || h.Runs != 1 {
		t.Errorf("nothing found: outcome %+v", h)
	}
	// A run that panics the hunt's process is a find: a crash.
	if err := os.WriteFile(binary, []byte("#!/bin/sh\necho 'panic: node: index out of range' >&2\nexit 2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if h := huntMutant(context.Background(), binary, filepath.Join(dir, "hunt4"), 1, time.Minute); !h.Found || h.Check != "crash" {
		t.Errorf("panic: outcome %+v", h)
	}
	// A usage error is not a verdict.
	if err := os.WriteFile(binary, []byte("#!/bin/sh\necho 'bad flag' >&2\nexit 2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if h := huntMutant(context.Background(), binary, filepath.Join(dir, "hunt3"), 1, time.Minute); h.Error == "" || !strings.Contains(h.Error, "bad flag") {
		t.Errorf("exit 2: outcome %+v", h)
	}
}

// A local sweep limited to some scenarios still runs each mutant's own
// first: a mutant of code only drain-burst reaches is judged by it.
func TestALimitedSweepKeepsAMutantsScenarios(t *testing.T) {
	all := []string{"a", "b", "c", "d"}
	got := ordered([]string{"d", "nope"}, within([]string{"d", "nope"}, []string{"b", "c"}, all))
	if !slices.Equal(got, []string{"d", "b", "c"}) {
		t.Errorf("limited sweep %v", got)
	}
	if got := within([]string{"d"}, nil, all); !slices.Equal(got, all) {
		t.Errorf("unlimited sweep %v", got)
	}
}
