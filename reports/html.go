package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"slices"
	"strings"
)

// pageView is what the run page's template reads: the report plus the
// charts' data, which the page's script draws with uPlot.
type pageView struct {
	*Report
	Style       template.CSS
	Script      template.JS
	Timeline    template.HTML
	Throughput  template.HTML
	Latency     template.HTML
	Connections template.HTML
	// RuntimeCharts are the processes' goroutines, heap and open file
	// descriptors over time (real runs only).
	RuntimeCharts []template.HTML
	ChecksMet     int
	// Failed are the checks that did not meet their expectation, with their
	// examples; Noted are the met ones that still carry examples (a break
	// that was seen, with the messages that show it).
	Failed []Check
	Noted  []Check
	// PorcupineHref opens porcupine's page where it matters, which
	// PorcupineWhere names ("the first error", "the first fault").
	PorcupineHref  string
	PorcupineWhere string
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"runTime": runTime,
	"number":  formatNumber,
	"join":    strings.Join,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Verdict}}: {{.Scenario}} seed {{.Seed}} ({{.Target}})</title><style>{{.Style}}</style></head>
<body><main>
{{with .Mutation}}<div class="mutation"><strong>Broken on purpose.</strong> Every node ran with <code>--mutation {{.}}</code>: this run plants a bug to show the checkers catching it. Its failures are the lab working, not chatlab's code failing.</div>
{{end}}{{$broke := .Broke}}<div class="verdict {{.Verdict}}{{if and (eq .Verdict "pass") $broke}} broke{{end}}"><div class="word">{{if ne .Verdict "pass"}}FAIL{{else if $broke}}BROKE, AS EXPECTED{{else}}PASS{{end}}</div>
{{with $broke}}<div class="broke">{{.}}</div>{{end}}
<div>{{.Scenario}} on {{.Target}}, seed {{.Seed}}: {{.ChecksMet}} of {{len .Checks}} checks met their expectation.</div></div>

<h1>{{.Scenario}}</h1>
{{with .Description}}<p>{{.}}</p>{{end}}
<dl class="meta">
<dt>seed</dt><dd><code>{{.Seed}}</code></dd>
<dt>target</dt><dd>{{.Target}}</dd>{{if .Redis}}<dt>redis</dt><dd>{{.Redis}}</dd>{{end}}
<dt>delivery</dt><dd>{{.Delivery}}</dd>
{{with .Mutation}}<dt>mutation</dt><dd><code>{{.}}</code> (nodes broken on purpose)</dd>{{end}}
{{with .ScenarioHash}}<dt>scenario hash</dt><dd><code>{{.}}</code></dd>{{end}}
<dt>started</dt><dd>{{.StartedAt.UTC.Format "2006-01-02 15:04:05 UTC"}}</dd>
<dt>wall time</dt><dd>{{runTime .WallMs}}</dd>
{{with .TraceHash}}<dt>trace hash</dt><dd><code>{{.}}</code></dd>{{end}}
<dt>run</dt><dd><code>{{.RunID}}</code></dd>
<dt>expected to hold</dt><dd>{{with .Expectations.Hold}}{{join . ", "}}{{else}}<span class="muted">nothing</span>{{end}}</dd>
<dt>expected to break</dt><dd>{{with .Expectations.Break}}{{join . ", "}}{{else}}<span class="muted">nothing</span>{{end}}</dd>
{{with .Expectations.LatencyP99MaxMs}}<dt>p99 latency bound</dt><dd>{{.}} ms</dd>{{end}}
{{with .Expectations.ConvergeWithinMs}}<dt>converge within</dt><dd>{{runTime .}}</dd>{{end}}
</dl>

{{with .ShrunkFrom}}<h2>Shrunk from</h2>
<p>This scenario is the smallest found that still fails <strong>{{.Check}}</strong> with this seed: {{.Candidates}} candidate runs in {{runTime .WallMs}}{{if .Minimal}}, ending at a local minimum (every smaller step passed){{else}}, stopped at the shrink's budget{{end}}.</p>
<table><tr><th></th><th class="number">clients</th><th class="number">rooms</th><th class="number">nodes</th><th class="number">faults</th><th class="number">run time</th><th class="number">sends</th></tr>
<tr><td>before</td>{{template "size" .Before}}</tr>
<tr><td>after</td>{{template "size" .After}}</tr></table>
{{if .Removed}}<p>Removed, step by step:</p><ul>{{range .Removed}}<li>{{.}}</li>{{end}}</ul>{{end}}{{end}}

<h2>Replay</h2>
<p>This command, run from the repository root after <code>make build</code>, runs the same scenario again{{if eq .Target "sim"}}, event for event (the same seed gives the same trace hash){{end}}:</p>
<pre class="command"><code>{{.Command}}</code></pre>

<h2>Fault timeline</h2>
{{.Timeline}}
{{if .Faults}}<table><tr><th class="number">at</th><th>action</th><th>target</th></tr>
{{range .Faults}}<tr><td class="number">{{runTime .AtMs}}</td><td>{{.Action}}</td><td>{{.Target}}</td></tr>
{{end}}</table>{{else}}<p class="muted">No faults.</p>{{end}}

<h2>Messages</h2>
<table><tr><th class="number">sent</th><th class="number">acked</th><th class="number">delivered</th><th class="number">lost</th><th class="number">duplicated</th><th class="number">reordered</th><th class="number">excused</th><th class="number">p50</th><th class="number">p99</th><th class="number">max</th></tr>
<tr>{{with .Stats}}<td class="number">{{.Sent}}</td><td class="number">{{.Acked}}</td><td class="number">{{.Delivered}}</td><td class="number">{{.Lost}}</td><td class="number">{{.Duplicated}}</td><td class="number">{{.Reordered}}</td><td class="number">{{.Excused}}</td><td class="number">{{number .LatencyMs.P50}} ms</td><td class="number">{{number .LatencyMs.P99}} ms</td><td class="number">{{number .LatencyMs.Max}} ms</td>{{end}}</tr></table>
{{with .ComparedWith}}<h3>Compared with the simulator</h3>
<p>The {{.Target}} run <code>{{.RunID}}</code> of the same scenario (content {{$.ScenarioHash}}), seed, delivery and mutation {{if eq .Verdict $.Verdict}}reached the same verdict{{else}}reached a different verdict: <strong>{{.Verdict}}</strong>{{end}}. Real runs are not replays: the counts differ with timing, the verdict should not.</p>
<table><tr><th>run</th><th>verdict</th><th class="number">sent</th><th class="number">acked</th><th class="number">delivered</th><th class="number">lost</th><th class="number">duplicated</th><th class="number">reordered</th><th class="number">excused</th><th class="number">p50</th><th class="number">p99</th><th class="number">wall time</th></tr>
<tr><td>{{$.Target}} (this run)</td><td><span class="badge {{$.Verdict}}">{{$.Verdict}}</span></td>{{template "stats" $.Stats}}<td class="number">{{runTime $.WallMs}}</td></tr>
<tr><td>{{.Target}}</td><td><span class="badge {{.Verdict}}">{{.Verdict}}</span></td>{{template "stats" .Stats}}<td class="number">{{runTime .WallMs}}</td></tr></table>{{end}}
<p class="muted">Excused: losses announced to the client with a reset (history that is gone is said, never skipped).</p>

<h2>Over time</h2>
<p class="muted">Shaded: fault windows. Dashed marks: the moment of each fault.</p>
{{.Throughput}}
{{.Latency}}
{{.Connections}}
{{if .RuntimeCharts}}<h3>Processes</h3>
<p class="muted">Each node's and the balancer's goroutines, heap in use and open file descriptors, read from their admin listener's /metrics about once a second; a line breaks while its process is down and goes on with the restarted process. Settled samples, taken after the clients left and just after a garbage collection, close the run: the no-leak check compares them with each process's first sample.</p>
{{range .RuntimeCharts}}{{.}}
{{end}}{{end}}
<h2>Checks</h2>
<table><tr><th>check</th><th>expected to</th><th>result</th><th class="number">violations</th><th>detail</th></tr>
{{range .Checks}}<tr{{if not .OK}} class="failed"{{end}}><td>{{.Name}}</td><td>{{.Expect}}</td><td>{{if .OK}}<span class="badge ok">met</span>{{else}}<span class="badge fail">not met</span>{{end}}</td><td class="number">{{.Violations}}</td><td>{{.Detail}}</td></tr>
{{end}}</table>

{{if .Failed}}<h2>Violations</h2>
{{range .Failed}}{{template "examples" .}}{{end}}{{end}}

{{if .Noted}}<h2>Expected breaks, as seen</h2>
{{range .Noted}}{{template "examples" .}}{{end}}{{end}}

<h2>Files</h2>
<ul>
{{with .Porcupine}}<li><a href="{{$.PorcupineHref}}">Linearizability (porcupine's visualization, fault windows annotated){{with $.PorcupineWhere}}, opened at {{.}}{{end}}</a></li>{{end}}
<li><a href="report.json">report.json</a> (the machine-readable report)</li>
<li><a href="junit.xml">junit.xml</a> (one test case per check)</li>
<li><a href="history.jsonl">history.jsonl</a> (every client operation)</li>
<li><a href="../../index.html">all runs</a></li>
</ul>
</main><script>{{.Script}}</script></body></html>
{{define "stats"}}<td class="number">{{.Sent}}</td><td class="number">{{.Acked}}</td><td class="number">{{.Delivered}}</td><td class="number">{{.Lost}}</td><td class="number">{{.Duplicated}}</td><td class="number">{{.Reordered}}</td><td class="number">{{.Excused}}</td><td class="number">{{number .LatencyMs.P50}} ms</td><td class="number">{{number .LatencyMs.P99}} ms</td>{{end}}
{{define "size"}}<td class="number">{{.Clients}}</td><td class="number">{{.Rooms}}</td><td class="number">{{.Nodes}}</td><td class="number">{{.Faults}}</td><td class="number">{{runTime .DurationMs}}</td><td class="number">{{.Sends}}</td>{{end}}
{{define "examples"}}<h3>{{.Name}}</h3><p>{{.Detail}}</p>
{{range .Examples}}
<div class="example"><div>{{.Message}}</div>
{{if .Operations}}<table><tr><th class="number">at</th><th>client</th><th>operation</th><th>room</th><th class="number">seq</th><th>id</th><th>node</th><th>detail</th></tr>
{{range .Operations}}<tr><td class="number">{{runTime .AtMs}}</td><td>{{.Client}}</td><td>{{.Kind}}</td><td>{{.Room}}</td><td class="number">{{if .Seq}}{{.Seq}}{{end}}</td><td><code>{{.ID}}</code></td><td>{{.Node}}</td><td>{{.Detail}}</td></tr>
{{end}}</table>{{end}}</div>
{{else}}<p class="muted">No examples recorded.</p>{{end}}{{end}}
`))

func renderPage(r *Report) ([]byte, error) {
	view := pageView{Report: r, Style: style + template.CSS(uplotCSS), Script: pageScript(), PorcupineHref: porcupineLink(r)}
	switch {
	case strings.HasSuffix(view.PorcupineHref, "#"+PorcupineFirstError):
		view.PorcupineWhere = "the first error"
	case strings.HasSuffix(view.PorcupineHref, "#"+PorcupineFirstFault):
		view.PorcupineWhere = "the first fault"
	}
	endMs := runEndMs(r)
	view.Timeline = timeline(r.FaultWindows, r.Faults, endMs)
	view.Throughput = chart{title: "Throughput", unit: "messages / s", windows: r.FaultWindows, faults: r.Faults, endMs: endMs,
		lines: []line{rightHand(seriesLine(r.Series, "sends / s", func(b Bucket) float64 { return b.SendsPerSecond })),
			seriesLine(r.Series, "deliveries / s", func(b Bucket) float64 { return b.DeliveriesPerSecond })}}.html()
	latency := []line{seriesLine(r.Series, "latency p50", func(b Bucket) float64 { return b.LatencyP50Ms }),
		seriesLine(r.Series, "latency p99", func(b Bucket) float64 { return b.LatencyP99Ms })}
	if bound := r.Expectations.LatencyP99MaxMs; bound > 0 {
		latency = append(latency, line{label: "p99 bound", dashed: true, points: []point{{0, float64(bound)}, {endMs, float64(bound)}}})
	}
	view.Latency = chart{title: "Delivery latency", unit: "ms", windows: r.FaultWindows, faults: r.Faults, endMs: endMs, lines: latency}.html()
	view.Connections = chart{title: "Connections per node", unit: "connections", windows: r.FaultWindows, faults: r.Faults, endMs: endMs,
		lines: connectionLines(r.Series)}.html()
	view.RuntimeCharts = runtimeCharts(r, endMs)
	for _, check := range r.Checks {
		switch {
		case check.OK:
			view.ChecksMet++
			if len(check.Examples) > 0 {
				view.Noted = append(view.Noted, check)
			}
		default:
			view.Failed = append(view.Failed, check)
		}
	}
	var page bytes.Buffer
	if err := pageTemplate.Execute(&page, view); err != nil {
		return nil, fmt.Errorf("reports: page: %w", err)
	}
	return page.Bytes(), nil
}

// runEndMs is where the charts' time axis ends: the last bucket's end, the
// last fault or window, whichever is latest.
func runEndMs(r *Report) int64 {
	var end int64
	if n := len(r.Series); n > 0 {
		width := int64(1000)
		if n > 1 {
			width = r.Series[n-1].AtMs - r.Series[n-2].AtMs
		}
		end = r.Series[n-1].AtMs + width
	}
	for _, window := range r.FaultWindows {
		end = max(end, window.ToMs)
	}
	for _, fault := range r.Faults {
		end = max(end, fault.AtMs)
	}
	if n := len(r.Runtime); n > 0 {
		end = max(end, r.Runtime[n-1].AtMs)
	}
	return end
}

// runtimeCharts draws the processes' figures, one line per member (sorted
// by name); none without runtime samples.
func runtimeCharts(r *Report, endMs int64) []template.HTML {
	if len(r.Runtime) == 0 {
		return nil
	}
	var members []string
	for _, s := range r.Runtime {
		if !slices.Contains(members, s.Member) {
			members = append(members, s.Member)
		}
	}
	slices.Sort(members)
	figures := []struct {
		title, unit string
		value       func(RuntimeSample) float64
	}{
		{"Goroutines", "goroutines", func(s RuntimeSample) float64 { return float64(s.Goroutines) }},
		{"Heap in use", "MiB", func(s RuntimeSample) float64 { return float64(s.HeapBytes) / (1 << 20) }},
		{"Open file descriptors", "descriptors", func(s RuntimeSample) float64 { return float64(s.OpenFDs) }},
	}
	charts := make([]template.HTML, 0, len(figures))
	for _, figure := range figures {
		lines := make([]line, 0, len(members))
		for _, member := range members {
			l := line{label: member}
			for _, s := range r.Runtime {
				if s.Member == member {
					l.points = append(l.points, point{s.AtMs, figure.value(s)})
				}
			}
			lines = append(lines, l)
		}
		charts = append(charts, chart{title: figure.title, unit: figure.unit, windows: r.FaultWindows, faults: r.Faults,
			endMs: endMs, lines: lines}.html())
	}
	return charts
}

// rightHand puts l on the right-hand axis.
func rightHand(l line) line {
	l.right = true
	return l
}

func seriesLine(series []Bucket, label string, value func(Bucket) float64) line {
	l := line{label: label, points: make([]point, len(series))}
	for i, bucket := range series {
		l.points[i] = point{bucket.AtMs, value(bucket)}
	}
	return l
}

// connectionLines draws one line per node, nodes sorted by name; a node
// missing from a bucket had no connections then.
func connectionLines(series []Bucket) []line {
	var nodes []string
	for _, bucket := range series {
		for name := range bucket.Connections {
			if !slices.Contains(nodes, name) {
				nodes = append(nodes, name)
			}
		}
	}
	slices.Sort(nodes)
	lines := make([]line, len(nodes))
	for i, name := range nodes {
		lines[i] = seriesLine(series, name, func(b Bucket) float64 { return float64(b.Connections[name]) })
	}
	return lines
}
