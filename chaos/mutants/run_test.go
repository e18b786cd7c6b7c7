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
