package runfeed_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"chatlab/chaos"
	"chatlab/dashboard"
	"chatlab/dashboard/runfeed"
	"chatlab/reports"
	"chatlab/scenarios"
)

// The dashboard's throughput and the report's describe the same run: the
// deliveries the dashboard counted over the run match the report's series
// within 5%, and so do the busiest second and the highest p99.
func TestDashboardThroughputMatchesTheReport(t *testing.T) {
	_, feed, subscription, result := runNodeRestartOnSim(t)
	dir, err := chaos.WriteReport(t.TempDir(), result, "bin/chatlab chaos --scenario node-restart --seed 1")
	if err != nil {
		t.Fatal(err)
	}
	report, err := reports.Read(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	feed.Close()

	// The dashboard's figures: each stats event covers the run time since
	// the one before.
	var shown, shownPeak, shownP99 float64
	lastMs := int64(0)
	for line := range subscription.Events {
		var event struct {
			Kind string          `json:"kind"`
			Data dashboard.Stats `json:"data"`
		}
		if err := json.Unmarshal(line, &event); err != nil {
			t.Fatal(err)
		}
		if event.Kind != string((dashboard.Stats{}).Kind()) {
			continue
		}
		shown += event.Data.DeliveriesPerS * float64(event.Data.TMs-lastMs) / 1000
		shownPeak = max(shownPeak, event.Data.DeliveriesPerS)
		if event.Data.Latency != nil {
			shownP99 = max(shownP99, event.Data.Latency.P99Ms)
		}
		lastMs = event.Data.TMs
	}
	if feed.Dropped(subscription) {
		t.Fatal("the test's subscription fell behind the feed")
	}
	var reported, reportedPeak, reportedP99 float64
	for i, bucket := range report.Series {
		width := 1.0
		if i+1 < len(report.Series) {
			width = float64(report.Series[i+1].AtMs-bucket.AtMs) / 1000
		}
		reported += bucket.DeliveriesPerSecond * width
		reportedPeak = max(reportedPeak, bucket.DeliveriesPerSecond)
		reportedP99 = max(reportedP99, bucket.LatencyP99Ms)
	}
	t.Logf("deliveries: dashboard %.0f (peak %.0f/s, p99 peak %.0f ms), report %.0f (peak %.0f/s, p99 peak %.0f ms), history %d",
		shown, shownPeak, shownP99, reported, reportedPeak, reportedP99, result.Stats.Delivered)
	if reported == 0 {
		t.Fatal("the report shows no deliveries")
	}
	// The dashboard counts up to its last sample; the report to the last
	// record: both cover the workload, so their totals agree.
	if ratio := shown / reported; ratio < 0.95 || ratio > 1.05 {
		t.Errorf("the dashboard counted %.0f deliveries, the report %.0f (ratio %.2f, want 0.95..1.05)", shown, reported, ratio)
	}
	if ratio := shownPeak / reportedPeak; ratio < 0.95 || ratio > 1.05 {
		t.Errorf("the dashboard's busiest interval %.0f/s, the report's busiest second %.0f/s (ratio %.2f, want 0.95..1.05)",
			shownPeak, reportedPeak, ratio)
	}
	// The latency spike at the restart shows on both.
	if ratio := shownP99 / reportedP99; ratio < 0.95 || ratio > 1.05 {
		t.Errorf("the dashboard's highest p99 %.0f ms, the report's %.0f ms (ratio %.2f, want 0.95..1.05)", shownP99, reportedP99, ratio)
	}
}

// Every check the scenario expects is on the panel from the first samples:
// those judged only once the run is quiet or over (no-loss, liveness,
// close codes, ...) as pending, never as holding, until their verdict.
func TestChecksNotYetJudgedArePending(t *testing.T) {
	scenario, feed, subscription, result := runNodeRestartOnSim(t)
	feed.Close()
	pendingSeen := map[string]bool{}
	last := map[string]dashboard.Check{}
	for line := range subscription.Events {
		var event struct {
			Kind string          `json:"kind"`
			Data dashboard.Check `json:"data"`
		}
		if err := json.Unmarshal(line, &event); err != nil {
			t.Fatal(err)
		}
		if event.Kind != string((dashboard.Check{}).Kind()) {
			continue
		}
		if event.Data.Pending {
			pendingSeen[event.Data.Name] = true
			if event.Data.OK || event.Data.Violations != 0 {
				t.Errorf("pending %s carries a verdict: %+v", event.Data.Name, event.Data)
			}
		}
		last[event.Data.Name] = event.Data
	}
	if feed.Dropped(subscription) {
		t.Fatal("the test's subscription fell behind the feed")
	}
	for _, name := range []string{"no-loss", "acks", "liveness", "close-codes", "recovery"} {
		if !pendingSeen[name] {
			t.Errorf("%s was never shown as pending before its verdict", name)
		}
	}
	for _, property := range scenario.Expect.Hold {
		final, ok := last[string(property)]
		if !ok || final.Pending {
			t.Errorf("%s ended the run without a verdict: %+v", property, final)
		}
	}
	if !result.Passed() {
		t.Fatalf("node-restart seed 1 failed on sim")
	}
}

// runNodeRestartOnSim runs node-restart seed 1 on the simulator with the
// dashboard's observer publishing to a feed the test subscribes to.
func runNodeRestartOnSim(t *testing.T) (*scenarios.Scenario, *dashboard.Feed, *dashboard.Subscription, *chaos.Result) {
	t.Helper()
	scenario, err := scenarios.Load("node-restart")
	if err != nil {
		t.Fatal(err)
	}
	feed := dashboard.NewFeed()
	subscription, _ := feed.Subscribe()
	delivery := scenario.Topology.Delivery
	run := chaos.RunOptions{Scenario: scenario, Seed: 1, Delivery: delivery,
		Cluster: chaos.NewSimCluster(scenario, chaos.SimOptions{Seed: 1, Delivery: delivery})}
	run.Observer = runfeed.New(feed, runfeed.Run{Scenario: scenario, Target: "sim", Seed: 1, Delivery: delivery})
	result, err := chaos.Run(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	return scenario, feed, subscription, result
}
