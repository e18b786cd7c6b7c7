package reports

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sample is a failing run of two checks with a fault window and series.
func sample() *Report {
	return &Report{
		Scenario: "node-restart", Description: "One node restarts.", Target: "sim", Seed: 42, Delivery: "recover",
		Verdict: Fail,
		Checks: []Check{
			{Name: "no-duplicates", OK: true, Expect: "hold", Detail: "no client got a message twice"},
			{Name: "no-loss", OK: false, Expect: "hold", Violations: 2, Detail: "2 acked messages never reached c007",
				Examples: []Example{{Message: "c007 never got room-1 seq 17 (acked to c003)", Operations: []Operation{
					{AtMs: 8100, Client: "c003", Kind: "acked", Room: "room-1", Seq: 17, ID: "c003-9"},
					{AtMs: 9400, Client: "c007", Kind: "joined", Room: "room-1", Node: "n2", Detail: "since 16, head 19"},
				}}}},
		},
		Stats:        Stats{Sent: 1200, Acked: 1198, Delivered: 17900, Lost: 2, LatencyMs: Latency{P50: 3, P99: 640, Max: 2100}},
		Faults:       []Fault{{AtMs: 8000, Action: "restart", Target: "n1"}},
		TraceHash:    "9f1c2b3a4d5e6f70",
		ScenarioHash: "5e1d0c4b3a291807",
		WallMs:       412,
		StartedAt:    time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Command:      "chatlab chaos --scenario node-restart --target sim --seed 42",
		Expectations: Expectations{Hold: []string{"no-loss", "no-duplicates"}, LatencyP99MaxMs: 2000},
		Series: []Bucket{
			{AtMs: 0, SendsPerSecond: 58, DeliveriesPerSecond: 870, LatencyP50Ms: 2, LatencyP99Ms: 9, Connections: map[string]int{"n1": 20, "n2": 20, "n3": 20}},
			{AtMs: 1000, SendsPerSecond: 61, DeliveriesPerSecond: 900, LatencyP50Ms: 3, LatencyP99Ms: 700, Connections: map[string]int{"n2": 30, "n3": 30}},
		},
		FaultWindows: []Window{{FromMs: 8000, ToMs: 9500, Label: "restart n1"}},
	}
}

func TestWriteReadBack(t *testing.T) {
	dir := t.TempDir()
	r := sample()
	history := func(w io.Writer) error {
		_, err := io.WriteString(w, `{"client":"c001","kind":"sent","at_ms":1}`+"\n")
		return err
	}
	runDir, err := Write(dir, r, history)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "runs", "20250301-120000-node-restart-sim-42"); runDir != want {
		t.Errorf("run dir %s, want %s", runDir, want)
	}
	for _, name := range []string{ReportFile, PageFile, JUnitFile, HistoryFile} {
		if _, err := os.Stat(filepath.Join(runDir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The schema docs/DESIGN.md promises, read as a user's CI would: by name.
	data, err := os.ReadFile(filepath.Join(runDir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(data, &generic); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"scenario", "target", "seed", "delivery", "verdict", "checks", "stats", "faults", "trace_hash", "wall_ms",
		"run_id", "started_at", "command", "expectations", "series", "fault_windows"} {
		if _, ok := generic[key]; !ok {
			t.Errorf("report.json lacks %q", key)
		}
	}
	if generic["verdict"] != "fail" || generic["seed"] != 42.0 || generic["scenario"] != "node-restart" {
		t.Errorf("verdict, seed, scenario = %v, %v, %v", generic["verdict"], generic["seed"], generic["scenario"])
	}
	check := generic["checks"].([]any)[1].(map[string]any)
	for _, key := range []string{"name", "ok", "violations", "detail", "examples"} {
		if _, ok := check[key]; !ok {
			t.Errorf("checks[] lacks %q", key)
		}
	}
	stats := generic["stats"].(map[string]any)
	for _, key := range []string{"sent", "acked", "delivered", "lost", "duplicated", "reordered", "excused", "latency_ms"} {
		if _, ok := stats[key]; !ok {
			t.Errorf("stats lacks %q", key)
		}
	}
	latency := stats["latency_ms"].(map[string]any)
	for _, key := range []string{"p50", "p99", "max"} {
		if _, ok := latency[key]; !ok {
			t.Errorf("latency_ms lacks %q", key)
		}
	}
	fault := generic["faults"].([]any)[0].(map[string]any)
	if fault["at_ms"] != 8000.0 || fault["action"] != "restart" || fault["target"] != "n1" {
		t.Errorf("faults[0] = %v", fault)
	}
	back, err := Read(filepath.Join(runDir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	if back.RunID != r.RunID || back.Stats != r.Stats || back.Checks[1].Examples[0].Operations[1] != r.Checks[1].Examples[0].Operations[1] ||
		back.Series[1].Connections["n3"] != 30 || !back.StartedAt.Equal(r.StartedAt) {
		t.Errorf("read back differs:\n%+v\n%+v", back, r)
	}
	historyData, err := os.ReadFile(filepath.Join(runDir, HistoryFile))
	if err != nil || !strings.Contains(string(historyData), `"client":"c001"`) {
		t.Errorf("history.jsonl = %q, %v", historyData, err)
	}
}

func TestEmptyListsAreArraysNotNull(t *testing.T) {
	r := &Report{Scenario: "flood", Target: "sim", Verdict: Pass, Checks: []Check{{Name: "order", OK: true}}}
	runDir, err := Write(t.TempDir(), r, nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(runDir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"faults": []`, `"series": []`, `"fault_windows": []`, `"hold": []`, `"runtime": []`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("report.json lacks %s", want)
		}
	}
	if info, err := os.Stat(filepath.Join(runDir, HistoryFile)); err != nil || info.Size() != 0 {
		t.Errorf("history.jsonl without a history: %v, %v", info, err)
	}
}

func TestJUnit(t *testing.T) {
	runDir, err := Write(t.TempDir(), sample(), nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(runDir, JUnitFile))
	if err != nil {
		t.Fatal(err)
	}
	var suite struct {
		XMLName  xml.Name `xml:"testsuite"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	}
	if err := xml.Unmarshal(data, &suite); err != nil {
		t.Fatal(err)
	}
	if suite.Tests != 2 || len(suite.Cases) != 2 || suite.Failures != 1 {
		t.Fatalf("tests %d, cases %d, failures %d; want 2, 2, 1", suite.Tests, len(suite.Cases), suite.Failures)
	}
	if suite.Cases[0].Name != "no-duplicates" || suite.Cases[0].Failure != nil {
		t.Errorf("case 0 = %+v, want no-duplicates passing", suite.Cases[0])
	}
	failure := suite.Cases[1].Failure
	if suite.Cases[1].Name != "no-loss" || failure == nil {
		t.Fatalf("case 1 = %+v, want no-loss failing", suite.Cases[1])
	}
	for _, want := range []string{"2 acked messages never reached c007", "c007 never got room-1 seq 17", "seq=17", "replay: chatlab chaos --scenario node-restart"} {
		if !strings.Contains(failure.Message+failure.Text, want) {
			t.Errorf("failure lacks %q:\n%s\n%s", want, failure.Message, failure.Text)
		}
	}
}

func TestPage(t *testing.T) {
	dir := t.TempDir()
	porcupine := filepath.Join(dir, "porcupine-output.html")
	if err := os.WriteFile(porcupine, []byte("<html>porcupine</html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := sample()
	r.Porcupine = porcupine
	runDir, err := Write(dir, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(runDir, PageFile))
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)
	for _, want := range []string{
		`<div class="word">FAIL</div>`,
		`<code>chatlab chaos --scenario node-restart --target sim --seed 42</code>`,
		"<svg", "<script>", `class="uchart"`, "Throughput", "Delivery latency", "Connections per node", "Fault timeline",
		"restart n1", // the window label
		"c007 never got room-1 seq 17 (acked to c003)", "c003-9",
		`href="linearizability.html#first-fault"`, "opened at the first fault",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	// The verdict comes first.
	if strings.Index(page, "FAIL") > strings.Index(page, "<h1>") {
		t.Error("the verdict is not the first thing on the page")
	}
	// Self-contained: nothing is fetched from elsewhere (uPlot is inlined;
	// the URLs inside it are its header and namespace names, not fetches).
	for _, banned := range []string{"<script src", "<link", `src="http`, `href="http`, "url(http", "@import"} {
		if strings.Contains(page, banned) {
			t.Errorf("index.html contains %q", banned)
		}
	}
	copied, err := os.ReadFile(filepath.Join(runDir, PorcupineFile))
	if err != nil || !strings.HasPrefix(string(copied), "<html>porcupine</html>") || !strings.Contains(string(copied), "first-fault") {
		t.Errorf("porcupine page: %q, %v", copied, err)
	}
	if r.Porcupine != PorcupineFile {
		t.Errorf("Porcupine = %q, want %q", r.Porcupine, PorcupineFile)
	}
}

// A real run's page charts each process's goroutines, heap and open file
// descriptors, one line per member; a simulated run's has no such charts.
func TestPageChartsRuntimeFigures(t *testing.T) {
	r := sample()
	r.Target = "local"
	r.Runtime = []RuntimeSample{
		{AtMs: 0, Member: "n1", StartedMs: -900, Goroutines: 14, HeapBytes: 3 << 20, OpenFDs: 13},
		{AtMs: 0, Member: "balancer", StartedMs: -400, Goroutines: 11, HeapBytes: 2 << 20, OpenFDs: 12},
		{AtMs: 1000, Member: "n1", StartedMs: -900, Goroutines: 75, HeapBytes: 6 << 20, OpenFDs: 44},
		{AtMs: 12000, Member: "n1", StartedMs: -900, Goroutines: 15, HeapBytes: 3 << 20, OpenFDs: 14, Settled: true},
	}
	page := writePage(t, r)
	for _, want := range []string{"<h3>Processes</h3>", "Goroutines", "Heap in use", "Open file descriptors",
		`{"label":"balancer"`, `{"label":"n1"`, `"x":[0,1000,12000]`, `"values":[14,75,15]`, `"values":[3,6,3]`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if page := writePage(t, sample()); strings.Contains(page, "Open file descriptors") {
		t.Error("a run without runtime samples got process charts")
	}
}

func TestPageEscapes(t *testing.T) {
	r := sample()
	r.Checks[1].Detail = `<img src=x onerror=alert(1)>`
	r.FaultWindows[0].Label = `<b>window</b>`
	runDir, err := Write(t.TempDir(), r, nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(runDir, PageFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "<img") || strings.Contains(string(data), "<b>window") {
		t.Error("text from the report reached the page unescaped")
	}
}

func TestIndexListsRunsNewestFirst(t *testing.T) {
	dir := t.TempDir()
	older := sample()
	newer := &Report{Scenario: "flood", Target: "local", Seed: 7, Delivery: "recover", Verdict: Pass,
		Checks: []Check{{Name: "order", OK: true}}, StartedAt: older.StartedAt.Add(time.Hour)}
	for _, r := range []*Report{older, newer} {
		if _, err := Write(dir, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, RunsDir, "broken"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteIndex(dir); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)
	flood := strings.Index(page, `href="runs/`+newer.RunID+`/index.html">flood</a>`)
	restart := strings.Index(page, `href="runs/`+older.RunID+`/index.html">node-restart</a>`)
	if flood < 0 || restart < 0 {
		t.Fatalf("index.html does not link both runs:\n%s", page)
	}
	if flood > restart {
		t.Error("the newer run is not listed first")
	}
	for _, want := range []string{"2 runs listed", "1 passed, 1 failed", `<span class="badge fail">fail</span>`, "<code>42</code>", "local", "Unreadable runs", "broken"} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
}

func TestRunIDsNeverCollide(t *testing.T) {
	dir := t.TempDir()
	first, second := sample(), sample()
	firstDir, err := Write(dir, first, nil)
	if err != nil {
		t.Fatal(err)
	}
	secondDir, err := Write(dir, second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if firstDir == secondDir || second.RunID != first.RunID+"-2" {
		t.Errorf("run ids %q and %q", first.RunID, second.RunID)
	}
}

func TestWriteRefusesAMisleadingReport(t *testing.T) {
	cases := map[string]func(*Report){
		"pass with a failed check": func(r *Report) { r.Verdict = Pass },
		"fail with every check ok": func(r *Report) { r.Checks[1].OK = true },
		"unknown verdict":          func(r *Report) { r.Verdict = "maybe" },
		"no checks":                func(r *Report) { r.Checks = nil },
		"no scenario":              func(r *Report) { r.Scenario = "" },
		"window ending early":      func(r *Report) { r.FaultWindows[0].ToMs = 1 },
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			r := sample()
			spoil(r)
			if _, err := Write(dir, r, nil); err == nil {
				t.Fatal("no error")
			}
			if _, err := os.Stat(filepath.Join(dir, RunsDir)); !os.IsNotExist(err) {
				t.Errorf("a refused report left %s behind", RunsDir)
			}
		})
	}
}

func TestNiceStep(t *testing.T) {
	cases := map[float64]float64{0: 1, 6: 1, 10: 2, 700: 200, 20000: 5000, 0.3: 0.05}
	for span, want := range cases {
		if got := niceStep(span); got < want*0.999 || got > want*1.001 {
			t.Errorf("niceStep(%v) = %v, want %v", span, got, want)
		}
	}
}
