package dashboard

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

// Bounds on what /api/runs reads.
const (
	// runsListLenMax is how many runs the list shows, newest first.
	runsListLenMax = 200
	// reportBytesMax bounds one report.json read for the list.
	reportBytesMax = 4 << 20
)

// RunSummary is one past run as /api/runs lists it: the head of its
// report.json (docs/DESIGN.md "Contracts") plus what the list needs.
type RunSummary struct {
	ID           string    `json:"id"`
	Scenario     string    `json:"scenario"`
	Target       string    `json:"target"`
	Seed         uint64    `json:"seed"`
	Delivery     string    `json:"delivery"`
	Verdict      string    `json:"verdict"`
	WallMs       int64     `json:"wall_ms"`
	FailedChecks []string  `json:"failed_checks"`
	Faults       int       `json:"faults"`
	Written      time.Time `json:"written"`
	Files        []string  `json:"files"`
	// Problem says why the report could not be read, if it could not.
	Problem string `json:"problem,omitempty"`
}

// reportHead is the part of report.json the list reads.
type reportHead struct {
	Scenario string `json:"scenario"`
	Target   string `json:"target"`
	Seed     uint64 `json:"seed"`
	Delivery string `json:"delivery"`
	Verdict  string `json:"verdict"`
	WallMs   int64  `json:"wall_ms"`
	Checks   []struct {
		Name string `json:"name"`
		OK   bool   `json:"ok"`
	} `json:"checks"`
	Faults []json.RawMessage `json:"faults"`
}

// listRuns reads runs/*/report.json, newest first. A missing runs folder
// is an empty list: no run has been made yet.
func listRuns(runs fs.FS) ([]RunSummary, error) {
	entries, err := fs.ReadDir(runs, ".")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return []RunSummary{}, nil
		}
		return nil, err
	}
	summaries := []RunSummary{}
	for _, entry := range entries {
		if !entry.IsDir() {
			continue
		}
		if summary, ok := readRun(runs, entry.Name()); ok {
			summaries = append(summaries, summary)
		}
	}
	slices.SortFunc(summaries, func(a, b RunSummary) int {
		if order := b.Written.Compare(a.Written); order != 0 {
			return order
		}
		return strings.Compare(b.ID, a.ID)
	})
	return summaries[:min(len(summaries), runsListLenMax)], nil
}

// readRun summarizes one run folder; ok is false when it has no report.
func readRun(runs fs.FS, id string) (summary RunSummary, ok bool) {
	info, err := fs.Stat(runs, path.Join(id, "report.json"))
	if err != nil {
		return RunSummary{}, false
	}
	summary = RunSummary{ID: id, Written: info.ModTime().UTC(), FailedChecks: []string{}, Files: []string{}}
	if files, err := fs.ReadDir(runs, id); err == nil {
		for _, file := range files {
			if !file.IsDir() {
				summary.Files = append(summary.Files, file.Name())
			}
		}
	}
	if info.Size() > reportBytesMax {
		summary.Problem = "report.json is too large to list"
		return summary, true
	}
	data, err := fs.ReadFile(runs, path.Join(id, "report.json"))
	var head reportHead
	if err == nil {
		err = json.Unmarshal(data, &head)
	}
	if err != nil {
		summary.Problem = "report.json: " + err.Error()
		return summary, true
	}
	summary.Scenario, summary.Target, summary.Seed = head.Scenario, head.Target, head.Seed
	summary.Delivery, summary.Verdict, summary.WallMs = head.Delivery, head.Verdict, head.WallMs
	summary.Faults = len(head.Faults)
	for _, check := range head.Checks {
		if !check.OK {
			summary.FailedChecks = append(summary.FailedChecks, check.Name)
		}
	}
	return summary, true
}

func serveRunList(runs fs.FS) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		summaries, err := listRuns(runs)
		if err != nil {
			http.Error(w, "cannot list runs: "+err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, summaries)
	}
}

// serveRunFile serves one file of a run (report.json, index.html, ...).
// fs.FS paths cannot climb out of the runs folder.
func serveRunFile(runs fs.FS) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := path.Join(r.PathValue("id"), r.PathValue("file"))
		if !fs.ValidPath(name) {
			http.NotFound(w, r)
			return
		}
		http.ServeFileFS(w, r, runs, name)
	}
}

func writeJSON(w http.ResponseWriter, value any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	json.NewEncoder(w).Encode(value)
}
