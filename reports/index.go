package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// indexRunsMax bounds the runs listed: a seed sweep can leave thousands,
// and the page must stay quick to open. Older ones are counted.
const indexRunsMax = 2000

// IndexFile is the list of runs, in the reports directory.
const IndexFile = "index.html"

// indexRun is one row of the list.
type indexRun struct {
	*Report
	Dir        string
	Violations int
}

type indexView struct {
	Style    template.CSS
	Runs     []indexRun
	Omitted  int
	Passed   int
	Failed   int
	Unread   []string
	RunsPath string
}

var indexTemplate = template.Must(template.New("index").Funcs(template.FuncMap{"runTime": runTime}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>chatlab runs</title><style>{{.Style}}</style></head>
<body><main>
<h1>chatlab runs</h1>
<p>{{len .Runs}} runs listed, newest first: {{.Passed}} passed, {{.Failed}} failed.{{if .Omitted}} {{.Omitted}} older runs are not listed; they are in {{.RunsPath}}.{{end}}</p>
<table><tr><th>started</th><th>verdict</th><th>scenario</th><th class="number">seed</th><th>target</th><th>delivery</th><th class="number">violations</th><th class="number">wall time</th></tr>
{{range .Runs}}<tr{{if eq .Verdict "fail"}} class="failed"{{end}}><td>{{.StartedAt.UTC.Format "2006-01-02 15:04:05"}}</td><td><span class="badge {{.Verdict}}">{{.Verdict}}</span></td><td><a href="{{.Dir}}/index.html">{{.Scenario}}</a></td><td class="number"><code>{{.Seed}}</code></td><td>{{.Target}}</td><td>{{.Delivery}}</td><td class="number">{{.Violations}}</td><td class="number">{{runTime .WallMs}}</td></tr>
{{else}}<tr><td colspan="8" class="muted">No runs yet: make build, then bin/chatlab chaos --scenario node-restart</td></tr>
{{end}}</table>
{{if .Unread}}<p class="muted">Unreadable runs (no or bad report.json): {{range .Unread}}<code>{{.}}</code> {{end}}</p>{{end}}
</main></body></html>
`))

// WriteIndex regenerates dir/index.html from every dir/runs/*/report.json.
func WriteIndex(dir string) error {
	entries, err := os.ReadDir(filepath.Join(dir, RunsDir))
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	view := indexView{Style: style, RunsPath: filepath.Join(dir, RunsDir)}
	for _, entry := range entries {
		if !entry.IsDir() {
			continue
		}
		r, err := Read(filepath.Join(dir, RunsDir, entry.Name(), ReportFile))
		if err != nil {
			view.Unread = append(view.Unread, entry.Name())
			continue
		}
		run := indexRun{Report: r, Dir: RunsDir + "/" + entry.Name()}
		for _, check := range r.Checks {
			run.Violations += check.Violations
		}
		view.Runs = append(view.Runs, run)
	}
	slices.SortFunc(view.Runs, func(a, b indexRun) int {
		if c := b.StartedAt.Compare(a.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(b.Dir, a.Dir)
	})
	if len(view.Runs) > indexRunsMax {
		view.Omitted = len(view.Runs) - indexRunsMax
		view.Runs = view.Runs[:indexRunsMax]
	}
	for _, run := range view.Runs {
		if run.Verdict == Pass {
			view.Passed++
		} else {
			view.Failed++
		}
	}
	var page bytes.Buffer
	if err := indexTemplate.Execute(&page, view); err != nil {
		return fmt.Errorf("reports: index: %w", err)
	}
	// Write then rename: a reader (or a concurrent run) never sees half a
	// page.
	temporary, err := os.CreateTemp(dir, ".index-*.html")
	if err != nil {
		return err
	}
	if _, err := temporary.Write(page.Bytes()); err != nil {
		temporary.Close()
		os.Remove(temporary.Name())
		return err
	}
	if err := temporary.Close(); err != nil {
		os.Remove(temporary.Name())
		return err
	}
	if err := os.Chmod(temporary.Name(), 0o644); err != nil {
		os.Remove(temporary.Name())
		return err
	}
	return os.Rename(temporary.Name(), filepath.Join(dir, IndexFile))
}
