package dashboard

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeRun makes runs/<id>/ with the given report.json, written at when.
func writeRun(t *testing.T, runs, id, report string, when time.Time) {
	t.Helper()
	dir := filepath.Join(runs, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"report.json": report, "index.html": "<h1>" + id + "</h1>"} {
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(file, when, when); err != nil {
			t.Fatal(err)
		}
	}
}

func get(t *testing.T, handler http.Handler, path string) (int, string) {
	t.Helper()
	server := httptest.NewServer(handler)
	defer server.Close()
	response, err := http.Get(server.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	body, _ := io.ReadAll(response.Body)
	return response.StatusCode, string(body)
}

func TestRunsAreListedNewestFirstWithTheirVerdicts(t *testing.T) {
	runs := t.TempDir()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	writeRun(t, runs, "old", `{"scenario":"node-restart","target":"sim","seed":7,"delivery":"recover","verdict":"pass",
		"checks":[{"name":"no-loss","ok":true}],"faults":[{"at_ms":8000,"action":"restart","target":"n1"}],"wall_ms":900}`, start)
	writeRun(t, runs, "new", `{"scenario":"pubsub-loses","target":"local","seed":3,"delivery":"pubsub","verdict":"fail",
		"checks":[{"name":"no-loss","ok":false},{"name":"order","ok":true},{"name":"no-duplicates","ok":false}],"faults":[]}`,
		start.Add(time.Minute))
	writeRun(t, runs, "broken", `{"scenario":`, start.Add(-time.Minute))
	if err := os.MkdirAll(filepath.Join(runs, "unfinished"), 0o755); err != nil {
		t.Fatal(err)
	}
	status, body := get(t, Handler(Options{RunsDir: runs}), "/api/runs")
	if status != http.StatusOK {
		t.Fatalf("GET /api/runs: %d %s", status, body)
	}
	var list []RunSummary
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].ID != "new" || list[1].ID != "old" || list[2].ID != "broken" {
		t.Fatalf("runs = %+v, want new, old, broken (the run without a report left out)", list)
	}
	if got := list[0]; got.Verdict != "fail" || got.Target != "local" || got.Seed != 3 ||
		strings.Join(got.FailedChecks, ",") != "no-loss,no-duplicates" || got.Faults != 0 {
		t.Errorf("new run = %+v", got)
	}
	if got := list[1]; got.Verdict != "pass" || got.Scenario != "node-restart" || got.WallMs != 900 || got.Faults != 1 ||
		len(got.FailedChecks) != 0 || strings.Join(got.Files, ",") != "index.html,report.json" {
		t.Errorf("old run = %+v", got)
	}
	if list[2].Problem == "" {
		t.Errorf("a report that is not JSON is listed without its problem: %+v", list[2])
	}
}

func TestNoRunsFolderIsAnEmptyList(t *testing.T) {
	status, body := get(t, Handler(Options{RunsDir: filepath.Join(t.TempDir(), "missing")}), "/api/runs")
	if status != http.StatusOK || strings.TrimSpace(body) != "[]" {
		t.Errorf("GET /api/runs without a runs folder: %d %q, want 200 []", status, body)
	}
}

func TestARunsFilesAreServedAndNothingOutsideTheRunsFolder(t *testing.T) {
	root := t.TempDir()
	runs := filepath.Join(root, "runs")
	writeRun(t, runs, "r1", `{"verdict":"pass"}`, time.Now())
	if err := os.WriteFile(filepath.Join(root, "secret"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	handler := Handler(Options{RunsDir: runs})
	if status, body := get(t, handler, "/api/runs/r1/index.html"); status != http.StatusOK || body != "<h1>r1</h1>" {
		t.Errorf("GET a run's index.html: %d %q", status, body)
	}
	if status, body := get(t, handler, "/api/runs/r1/report.json"); status != http.StatusOK || body != `{"verdict":"pass"}` {
		t.Errorf("GET a run's report.json: %d %q", status, body)
	}
	for _, path := range []string{"/api/runs/r1/..%2F..%2Fsecret", "/api/runs/..%2F/secret", "/api/runs/r1/../../secret"} {
		if status, body := get(t, handler, path); strings.Contains(body, "secret") && status == http.StatusOK {
			t.Errorf("GET %s served a file outside the runs folder", path)
		}
	}
}
