package reports

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"
)

// The fault timeline's geometry, in SVG user units (pixels at 100%); the
// line charts are drawn by uPlot in the page (chartSpec below).
const (
	chartWidth        = 820
	chartMarginLeft   = 60
	chartMarginRight  = 20
	chartMarginTop    = 34
	chartMarginBottom = 34
	// chartTicks is about how many ticks the time axis gets.
	chartTicks = 6
	// timelineRowHeight and timelineRowsMax shape the fault timeline; rows
	// beyond the limit are left to the table below it.
	timelineRowHeight = 22
	timelineRowsMax   = 30
)

// palette colours lines in order; a chart with more lines reuses it.
var palette = []string{"#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"}

// windowColor shades fault windows; faultColor marks the moment of each
// fault.
const (
	windowColor = "#f59e0b"
	faultColor  = "#b45309"
)

type point struct {
	xMs int64
	y   float64
}

type line struct {
	label  string
	points []point
	// dashed draws a bound (a limit line) rather than a measurement.
	dashed bool
	// right puts the line on a scale and axis of its own, on the right: a
	// rate of a few dozen beside one of thousands stays readable.
	right bool
}

// chart is a line chart over the run's time with the fault windows shaded
// and every fault marked.
type chart struct {
	title   string
	unit    string
	lines   []line
	windows []Window
	faults  []Fault
	endMs   int64
}

// chartSpec is what the page's script hands uPlot for one chart: the
// bucket times, one column of values per line, and the faults to draw
// behind them. Its JSON names are read by uplotInit below.
type chartSpec struct {
	Title   string       `json:"title"`
	Unit    string       `json:"unit"`
	EndMs   int64        `json:"end_ms"`
	X       []int64      `json:"x"`
	Series  []seriesSpec `json:"series"`
	Windows []Window     `json:"windows"`
	Faults  []faultMark  `json:"faults"`
}

type seriesSpec struct {
	Label  string     `json:"label"`
	Color  string     `json:"color"`
	Dash   []int      `json:"dash"`
	Right  bool       `json:"right,omitempty"` // on the right-hand axis
	Values []*float64 `json:"values"`          // null where the line has no point
}

type faultMark struct {
	AtMs  int64  `json:"at_ms"`
	Label string `json:"label"`
}

// dashes gives each line of a chart its own dash as well as its own
// colour, so that lines lying on top of each other all stay visible; a
// bound is always drawn long-dashed.
var (
	dashes    = [][]int{{}, {7, 4}, {2, 3}, {10, 3, 2, 3}, {4, 4}, {1, 5}}
	boundDash = []int{12, 6}
)

func (c chart) spec() chartSpec {
	spec := chartSpec{Title: c.title, Unit: c.unit, EndMs: max(c.endMs, 1), Windows: c.windows, Faults: []faultMark{},
		Series: []seriesSpec{}}
	if spec.Windows == nil {
		spec.Windows = []Window{}
	}
	for _, fault := range c.faults {
		spec.Faults = append(spec.Faults, faultMark{AtMs: fault.AtMs, Label: strings.TrimSpace(fault.Action + " " + fault.Target)})
	}
	times := map[int64]bool{}
	for _, l := range c.lines {
		for _, p := range l.points {
			if !times[p.xMs] {
				times[p.xMs] = true
				spec.X = append(spec.X, p.xMs)
			}
		}
	}
	slices.Sort(spec.X)
	if spec.X == nil {
		spec.X = []int64{}
	}
	for i, l := range c.lines {
		series := seriesSpec{Label: l.label, Color: palette[i%len(palette)], Dash: dashes[i%len(dashes)], Right: l.right,
			Values: make([]*float64, len(spec.X))}
		if l.dashed {
			series.Dash = boundDash
		}
		for _, p := range l.points {
			value := p.y
			series.Values[slices.Index(spec.X, p.xMs)] = &value
		}
		spec.Series = append(spec.Series, series)
	}
	return spec
}

// html is the chart's place on the page and its data; uplotInit draws it.
func (c chart) html() template.HTML {
	data, err := json.Marshal(c.spec())
	if err != nil {
		panic(fmt.Sprintf("reports: chart %q: %v", c.title, err)) // plain numbers and strings: cannot fail
	}
	// json.Marshal writes <, > and & as \u escapes: the data cannot close
	// its script element.
	return template.HTML(fmt.Sprintf(`<figure class="uchart-box"><figcaption>%s <span class="muted">(%s)</span></figcaption>`+
		`<div class="uchart" role="img" aria-label="%s"></div><script type="application/json" class="uchart-data">%s</script>`+
		`<noscript><p class="muted">This chart needs JavaScript; its figures are in report.json.</p></noscript></figure>`,
		escape(c.title), escape(c.unit), escape(c.title), data))
}

// drawTimeAxis draws the x axis in seconds at baseline.
func drawTimeAxis(svg *strings.Builder, x func(int64) float64, endMs int64, baseline float64) {
	fmt.Fprintf(svg, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="axis"/>`, x(0), x(endMs), baseline, baseline)
	stepMs := int64(math.Max(1, niceStep(float64(endMs))))
	for ms := int64(0); ms <= endMs; ms += stepMs {
		fmt.Fprintf(svg, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="axis"/>`, x(ms), x(ms), baseline, baseline+4)
		fmt.Fprintf(svg, `<text x="%.1f" y="%.1f" class="tick" text-anchor="middle">%ss</text>`, x(ms), baseline+16, formatNumber(float64(ms)/1000))
	}
}

// timeline draws one row per fault window and a mark per fault above
// them, on the same time axis as the charts.
func timeline(windows []Window, faults []Fault, endMs int64) template.HTML {
	rows := min(len(windows), timelineRowsMax)
	plotWidth := float64(chartWidth - chartMarginLeft - chartMarginRight)
	height := chartMarginTop + timelineRowHeight*(rows+1) + chartMarginBottom
	endMs = max(endMs, 1)
	x := func(ms int64) float64 { return chartMarginLeft + plotWidth*float64(ms)/float64(endMs) }
	var svg strings.Builder
	fmt.Fprintf(&svg, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="fault timeline">`, chartWidth, height)
	markY := float64(chartMarginTop + timelineRowHeight/2)
	fmt.Fprintf(&svg, `<text x="%d" y="%.1f" class="tick" text-anchor="end">faults</text>`, chartMarginLeft-6, markY+4)
	for _, fault := range faults {
		fmt.Fprintf(&svg, `<path d="M%.1f %.1f l5 5 l-5 5 l-5 -5 z" fill="%s"><title>%s %s at %s</title></path>`,
			x(fault.AtMs), markY-5, faultColor, escape(fault.Action), escape(fault.Target), runTime(fault.AtMs))
	}
	for i, window := range windows[:rows] {
		top := float64(chartMarginTop + timelineRowHeight*(i+1) + 3)
		width := math.Max(x(window.ToMs)-x(window.FromMs), 2)
		fmt.Fprintf(&svg, `<rect x="%.1f" y="%.1f" width="%.1f" height="%d" rx="3" fill="%s" fill-opacity="0.55"><title>%s (%s to %s)</title></rect>`,
			x(window.FromMs), top, width, timelineRowHeight-6, windowColor, escape(window.Label), runTime(window.FromMs), runTime(window.ToMs))
		fmt.Fprintf(&svg, `<text x="%.1f" y="%.1f" class="tick">%s</text>`, x(window.FromMs)+4, top+12, escape(window.Label))
	}
	drawTimeAxis(&svg, x, endMs, float64(chartMarginTop+timelineRowHeight*(rows+1)+4))
	svg.WriteString(`</svg>`)
	return template.HTML(svg.String())
}

// niceStep is a grid step of 1, 2 or 5 times a power of ten giving about
// chartTicks steps up to span.
func niceStep(span float64) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / chartTicks
	magnitude := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, factor := range []float64{1, 2, 5, 10} {
		if factor*magnitude >= raw {
			return factor * magnitude
		}
	}
	return 10 * magnitude
}

func formatNumber(value float64) string {
	if value == math.Trunc(value) {
		return fmt.Sprintf("%.0f", value)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", value), "0"), ".")
}

func escape(text string) string { return template.HTMLEscapeString(text) }
