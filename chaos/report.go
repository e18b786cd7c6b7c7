package chaos

import (
	"fmt"

	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/anishathalye/porcupine"

	"chatlab/chaos/check"
	"chatlab/reports"
	"chatlab/scenarios"
	"chatlab/system/client"
)

// Report building limits.
const (
	// seriesBucketMs is the width of one time bucket of the report's charts.
	seriesBucketMs = 1000
	// visualizedRecordsMax bounds the histories whose porcupine page is
	// written: the page grows with every operation and a browser chokes on
	// very large ones.
	visualizedRecordsMax = 60000
	// examplesPerCheckMax bounds the violations a report spells out.
	examplesPerCheckMax = 20
)

// WriteReport writes a finished run into dir/runs/<run-id>/ and returns
// that directory. command is the exact command that replays the run.
func WriteReport(dir string, result *Result, command string) (string, error) {
	return WriteShrunkReport(dir, result, command, nil)
}

// WriteShrunkReport is WriteReport for the run of a shrunk scenario:
// report.json's shrunk_from says what it was shrunk from (nil: not shrunk).
func WriteShrunkReport(dir string, result *Result, command string, shrunk *reports.ShrunkFrom) (string, error) {
	report := &reports.Report{
		Scenario:     result.Scenario.Name,
		Description:  result.Scenario.Description,
		Target:       result.Target,
		Redis:        result.Redis,
		Mutation:     string(result.Mutation),
		ScenarioHash: result.Scenario.Hash(),
		Seed:         result.Seed,
		Delivery:     string(result.Delivery),
		Verdict:      reports.Verdict(result.Verdict),
		Checks:       reportChecks(result),
		Stats:        reportStats(result.Stats),
		TraceHash:    result.TraceHash,
		WallMs:       result.WallMs,
		Command:      command,
		Expectations: reportExpectations(result.Scenario.Expect),
		Series:       series(result),
		Runtime:      runtimeSamples(result.Samples),
		ShrunkFrom:   shrunk,
	}
	for _, f := range result.Faults {
		report.Faults = append(report.Faults, reports.Fault(f))
	}
	for _, w := range result.Windows {
		report.FaultWindows = append(report.FaultWindows, reports.Window(w))
	}
	if page, err := visualize(result); err == nil && page != "" {
		report.Porcupine = page
		defer os.RemoveAll(filepath.Dir(page))
	}
	return reports.Write(dir, report, result.History.WriteJSONL)
}

// reportChecks turns checks into the report's: a check is OK when it met
// its expectation (held, or was seen to break); a check the scenario sets
// no expectation for is shown as observed and does not sway the verdict.
func reportChecks(result *Result) []reports.Check {
	expect := map[string]string{}
	for _, p := range result.Scenario.Expect.Hold {
		expect[propertyChecks[p]] = "hold"
	}
	for _, p := range result.Scenario.Expect.Break {
		expect[propertyChecks[p]] = "break"
	}
	if result.Scenario.Expect.LatencyP99MaxMs > 0 {
		expect[check.CheckLatency] = "hold"
	}
	checks := make([]reports.Check, 0, len(result.Checks))
	var rows *rowIndex // built for the first example only
	for _, c := range result.Checks {
		check := reports.Check{Name: c.Name, Expect: expect[c.Name], Violations: c.Violations, Detail: c.Detail}
		switch check.Expect {
		case "hold":
			check.OK = c.OK
		case "break":
			check.OK = !c.OK
		default:
			check.Expect, check.OK = "observe", true
		}
		for _, v := range c.Examples[:min(len(c.Examples), examplesPerCheckMax)] {
			if rows == nil {
				rows = newRowIndex(result.History)
			}
			check.Examples = append(check.Examples, reports.Example{Message: v.Message, Operations: rows.operations(v)})
		}
		checks = append(checks, check)
	}
	return checks
}

func reportStats(s check.Stats) reports.Stats {
	return reports.Stats{Sent: int64(s.Sent), Acked: int64(s.Acked), Delivered: int64(s.Delivered), Lost: int64(s.Lost),
		Duplicated: int64(s.Duplicated), Reordered: int64(s.Reordered), Excused: int64(s.Excused),
		LatencyMs: reports.Latency(s.LatencyMs)}
}

func reportExpectations(e scenarios.Expectations) reports.Expectations {
	out := reports.Expectations{LatencyP99MaxMs: e.LatencyP99MaxMs, ConvergeWithinMs: e.ConvergeWithin.Milliseconds()}
	for _, p := range e.Hold {
		out.Hold = append(out.Hold, string(p))
	}
	for _, p := range e.Break {
		out.Break = append(out.Break, string(p))
	}
	return out
}

// series cuts the run into one-second buckets: sends and deliveries per
// second, delivery latency percentiles (of ordinary clients' messages, as
// the latency check counts them), and connections per node.
func series(result *Result) []reports.Bucket {
	endMs := int64(0)
	sentAt := map[string]int64{} // ordinary clients' sends: a flood's backlog is not their latency
	for _, r := range result.History {
		endMs = max(endMs, r.AtMs)
		if r.Kind == client.KindSent && !strings.HasPrefix(r.Client, FloodClientPrefix) {
			sentAt[r.ID] = r.AtMs
		}
	}
	buckets := make([]reports.Bucket, endMs/seriesBucketMs+1)
	latencies := make([][]float64, len(buckets))
	for i := range buckets {
		buckets[i].AtMs = int64(i) * seriesBucketMs
	}
	for _, r := range result.History {
		i := r.AtMs / seriesBucketMs
		switch {
		case r.Kind == client.KindSent:
			buckets[i].SendsPerSecond++
		case r.Kind == client.KindDelivered && !r.Duplicate:
			buckets[i].DeliveriesPerSecond++
			if sent, ok := sentAt[r.ID]; ok {
				latencies[i] = append(latencies[i], float64(r.AtMs-sent))
			}
		}
	}
	scale := 1000.0 / seriesBucketMs
	for i := range buckets {
		buckets[i].SendsPerSecond *= scale
		buckets[i].DeliveriesPerSecond *= scale
		sort.Float64s(latencies[i])
		buckets[i].LatencyP50Ms = check.Percentile(latencies[i], 0.50)
		buckets[i].LatencyP99Ms = check.Percentile(latencies[i], 0.99)
	}
	for _, s := range result.Samples {
		if i := s.AtMs / seriesBucketMs; i >= 0 && int(i) < len(buckets) {
			buckets[i].Connections = s.Connections
		}
	}
	return buckets
}

// runtimeSamples are the processes' runtime figures of every sample, in
// time order.
func runtimeSamples(samples []Sample) []reports.RuntimeSample {
	var out []reports.RuntimeSample
	for _, r := range runtimeOf(samples) {
		out = append(out, reports.RuntimeSample(r))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].AtMs < out[j].AtMs })
	return out
}

// visualize writes porcupine's page for the run into a temporary file,
// with the fault windows as annotations, and returns its path ("" when the
// run has no seqs or is too large to draw).
func visualize(result *Result) (string, error) {
	if len(result.History) > visualizedRecordsMax || result.linearization == nil {
		return "", nil
	}
	dir, err := os.MkdirTemp("", "chatlab-porcupine-")
	if err != nil {
		return "", err
	}
	annotations := make([]porcupine.Annotation, 0, len(result.Windows))
	for _, w := range result.Windows {
		annotations = append(annotations, porcupine.Annotation{Tag: "faults", Start: w.FromMs, End: w.ToMs,
			Description: w.Label, BackgroundColor: "#f6d6d6"})
	}
	path := filepath.Join(dir, reports.PorcupineFile)
	if err := check.WriteVisualization(result.linearization, path, annotations); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("porcupine page: %w", err)
	}
	return path, nil
}
