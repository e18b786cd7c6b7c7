package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"chatlab/dashboard"
)

var updateSamples = flag.Bool("update", false, "rewrite dashboard/src/testdata/report.json from a fresh sim run")

// reportSample is the report.json the browser's tests read
// (dashboard/src/contract.test.ts): one a real run wrote.
const reportSample = "../../dashboard/src/testdata/report.json"

// shape lists a JSON document's paths with their types: "checks[].name
// string". Array elements share one path, so two reports of the same
// contract have the same shape whatever their figures.
func shape(value any, path string, into map[string]bool) {
	switch v := value.(type) {
	case map[string]any:
		into[path+" object"] = true
		for key, item := range v {
			shape(item, path+"."+key, into)
		}
	case []any:
		into[path+" array"] = true
		for _, item := range v {
			shape(item, path+"[]", into)
		}
	case string:
		into[path+" string"] = true
	case float64:
		into[path+" number"] = true
	case bool:
		into[path+" bool"] = true
	case nil:
		into[path+" null"] = true
	}
}

func shapeOf(t *testing.T, data []byte) []string {
	t.Helper()
	var value any
	if err := json.Unmarshal(data, &value); err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	shape(value, "", paths)
	var sorted []string
	for path := range paths {
		sorted = append(sorted, path)
	}
	slices.Sort(sorted)
	return sorted
}

// The sample report the dashboard's tests read has the shape of the
// report.json a run writes today: the same fields, of the same types. A
// field added to reports.Report fails here until the sample is rewritten
// (go test ./cmd/chatlab -run ReportSample -update) and the browser side
// reads it.
func TestReportSampleHasTheReportShape(t *testing.T) {
	out := t.TempDir()
	code, _, stderr := runCommand(t, context.Background(), "chaos", "--scenario", "node-restart", "--seed", "1", "--out", out)
	if code != 0 {
		t.Fatalf("node-restart seed 1: exit %d: %s", code, stderr)
	}
	written, err := filepath.Glob(filepath.Join(out, "runs", "*", "report.json"))
	if err != nil || len(written) != 1 {
		t.Fatalf("report.json files under %s: %v %v", out, written, err)
	}
	fresh, err := os.ReadFile(written[0])
	if err != nil {
		t.Fatal(err)
	}
	if *updateSamples {
		var report map[string]any
		if err := json.Unmarshal(fresh, &report); err != nil {
			t.Fatal(err)
		}
		// What the wall clock decides is fixed, so the sample only changes
		// when the contract or the run does.
		report["run_id"], report["started_at"], report["wall_ms"] = "20261201-100000-node-restart-seed1", "2026-12-01T10:00:00Z", 1234
		pretty, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(reportSample, append(pretty, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	sample, err := os.ReadFile(reportSample)
	if err != nil {
		t.Fatal(err)
	}
	got, want := shapeOf(t, sample), shapeOf(t, fresh)
	var missing, extra []string
	for _, path := range want {
		if !slices.Contains(got, path) {
			missing = append(missing, path)
		}
	}
	for _, path := range got {
		if !slices.Contains(want, path) {
			extra = append(extra, path)
		}
	}
	if len(missing)+len(extra) > 0 {
		t.Errorf("%s is not shaped like today's report.json (missing %s; no longer written %s): rewrite it with "+
			"`go test ./cmd/chatlab -run ReportSample -update` and make the dashboard read what changed",
			reportSample, fmt.Sprint(missing), strings.Join(extra, ", "))
	}
}

// Every target a chaos run can have is a mode the dashboard declares.
func TestEveryTargetHasADashboardMode(t *testing.T) {
	for _, target := range append([]string{"sim"}, slices.Sorted(maps.Keys(chaosTargets))...) {
		if _, ok := dashboard.ModeOf(target); !ok {
			t.Errorf("--target %s has no dashboard mode: declare one in dashboard/feed_events.go and src/feed.ts", target)
		}
	}
}
