package reports

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// chartSpecs reads the data of every chart on a page.
func chartSpecs(t *testing.T, page string) map[string]chartSpec {
	t.Helper()
	specs := map[string]chartSpec{}
	for _, match := range regexp.MustCompile(`<script type="application/json" class="uchart-data">(.*?)</script>`).FindAllStringSubmatch(page, -1) {
		var spec chartSpec
		if err := json.Unmarshal([]byte(match[1]), &spec); err != nil {
			t.Fatalf("chart data %q: %v", match[1], err)
		}
		specs[spec.Title] = spec
	}
	return specs
}

// The page carries each chart's lines, aligned on the buckets' times, with
// the fault windows and marks, and the script that draws them once.
func TestChartsCarryTheirDataAndTheirScript(t *testing.T) {
	page, err := renderPage(sample())
	if err != nil {
		t.Fatal(err)
	}
	text := string(page)
	if strings.Count(text, "var uPlot=") != 1 || strings.Count(text, "document.querySelectorAll('.uchart')") != 1 {
		t.Error("the page does not carry uPlot and the chart script exactly once")
	}
	specs := chartSpecs(t, text)
	if len(specs) != 3 {
		t.Fatalf("charts = %d, want throughput, latency and connections", len(specs))
	}
	latency := specs["Delivery latency"]
	var labels []string
	for _, s := range latency.Series {
		labels = append(labels, s.Label)
		if len(s.Values) != len(latency.X) {
			t.Errorf("%s: %d values for %d times", s.Label, len(s.Values), len(latency.X))
		}
	}
	if strings.Join(labels, ",") != "latency p50,latency p99,p99 bound" {
		t.Errorf("latency lines = %v", labels)
	}
	if p99 := latency.Series[1].Values[1]; latency.X[1] != 1000 || p99 == nil || *p99 != 700 {
		t.Errorf("p99 at %d ms = %v, want 700 at 1000 ms", latency.X[1], p99)
	}
	connections := specs["Connections per node"]
	seen := map[string]bool{}
	for _, s := range connections.Series {
		key := jsonOf(t, s.Dash)
		if seen[key] {
			t.Errorf("two connection lines are drawn alike (%s): one would hide the other", key)
		}
		seen[key] = true
	}
	if throughput := specs["Throughput"]; len(throughput.Series) != 2 || !throughput.Series[0].Right || throughput.Series[1].Right {
		t.Errorf("throughput lines = %+v, want sends on the right-hand axis and deliveries on the left", throughput.Series)
	}
	for _, spec := range specs {
		if len(spec.Windows) != 1 || spec.Windows[0].Label != "restart n1" || len(spec.Faults) != 1 || spec.Faults[0].Label != "restart n1" {
			t.Errorf("%s: windows %v, faults %v", spec.Title, spec.Windows, spec.Faults)
		}
	}
}

func jsonOf(t *testing.T, value any) string {
	t.Helper()
	data, err := json.Marshal(value)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// The inlined uPlot is the version the dashboard uses.
func TestUplotCopyIsTheDashboardsVersion(t *testing.T) {
	data, err := os.ReadFile("../dashboard/package.json")
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		t.Fatal(err)
	}
	want := strings.TrimLeft(manifest.Dependencies["uplot"], "^~=")
	header := regexp.MustCompile(`^/\*! https://github.com/leeoniya/uPlot \(v([0-9.]+)\) \*/`).FindStringSubmatch(uplotJS)
	if want == "" || header == nil || header[1] != want {
		t.Errorf("reports/assets has uPlot %v, dashboard/package.json pins %q: copy node_modules/uplot/dist/uPlot.iife.min.js and uPlot.min.css", header, want)
	}
}
