package reports

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// Names inside a run directory.
const (
	ReportFile    = "report.json"
	PageFile      = "index.html"
	JUnitFile     = "junit.xml"
	HistoryFile   = "history.jsonl"
	PorcupineFile = "linearizability.html"
	// RunsDir is where runs land under the reports directory.
	RunsDir = "runs"
)

// runIDAttemptsMax bounds the suffixes tried when two runs would share an
// id (the same scenario and seed started within one second).
const runIDAttemptsMax = 100

var runIDUnsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Write writes the run into dir/runs/<run-id>/ (report.json, index.html,
// junit.xml, history.jsonl, and the porcupine page if the report names
// one) and regenerates dir/index.html. A run on a real target is compared
// with the newest sim run of its scenario, seed and delivery in dir. historyJSONL writes the history,
// one JSON record a line; nil leaves history.jsonl empty. It returns the
// run's directory. r gets its RunID, StartedAt and Porcupine filled in.
func Write(dir string, r *Report, historyJSONL func(io.Writer) error) (runDir string, err error) {
	if err := r.validate(); err != nil {
		return "", err
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = time.Now().UTC()
	}
	if r.Target != "sim" && r.ComparedWith == nil {
		r.ComparedWith = simTwin(dir, r)
	}
	if runDir, err = makeRunDir(dir, r); err != nil {
		return "", err
	}
	if r.Porcupine != "" {
		if err := copyPorcupine(r.Porcupine, filepath.Join(runDir, PorcupineFile)); err != nil {
			return runDir, fmt.Errorf("reports: porcupine page: %w", err)
		}
		r.Porcupine = PorcupineFile
	}
	report := r.normalized()
	data, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return runDir, fmt.Errorf("reports: %w", err)
	}
	if err := os.WriteFile(filepath.Join(runDir, ReportFile), append(data, '\n'), 0o644); err != nil {
		return runDir, err
	}
	junit, err := renderJUnit(report)
	if err != nil {
		return runDir, err
	}
	if err := os.WriteFile(filepath.Join(runDir, JUnitFile), junit, 0o644); err != nil {
		return runDir, err
	}
	page, err := renderPage(report)
	if err != nil {
		return runDir, err
	}
	if err := os.WriteFile(filepath.Join(runDir, PageFile), page, 0o644); err != nil {
		return runDir, err
	}
	if err := writeHistory(filepath.Join(runDir, HistoryFile), historyJSONL); err != nil {
		return runDir, err
	}
	return runDir, WriteIndex(dir)
}

// makeRunDir creates the run's directory under a new id: os.Mkdir fails on
// an existing one, so two runs never share a directory.
func makeRunDir(dir string, r *Report) (string, error) {
	runs := filepath.Join(dir, RunsDir)
	if err := os.MkdirAll(runs, 0o755); err != nil {
		return "", err
	}
	base := r.RunID
	if base == "" {
		base = fmt.Sprintf("%s-%s-%s-%d", r.StartedAt.UTC().Format("20060102-150405"), r.Scenario, r.Target, r.Seed)
	}
	base = runIDUnsafe.ReplaceAllString(base, "_")
	for attempt := 1; attempt <= runIDAttemptsMax; attempt++ {
		id := base
		if attempt > 1 {
			id += "-" + strconv.Itoa(attempt)
		}
		runDir := filepath.Join(runs, id)
		err := os.Mkdir(runDir, 0o755)
		if err == nil {
			r.RunID = id
			return runDir, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("reports: %d runs named %s already exist in %s", runIDAttemptsMax, base, runs)
}

func writeHistory(path string, historyJSONL func(io.Writer) error) (err error) {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if closeErr := file.Close(); err == nil {
			err = closeErr
		}
	}()
	if historyJSONL == nil {
		return nil
	}
	buffered := bufio.NewWriter(file)
	if err := historyJSONL(buffered); err != nil {
		return fmt.Errorf("reports: history: %w", err)
	}
	return buffered.Flush()
}
