package reports

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Chart geometry, in SVG user units (pixels at 100%).
const (
	chartWidth        = 820
	chartHeight       = 230
	chartMarginLeft   = 60
	chartMarginRight  = 20
	chartMarginTop    = 34
	chartMarginBottom = 34
	// chartTicks is about how many grid lines an axis gets.
	chartTicks = 6
	// timelineRowHeight and timelineRowsMax shape the fault timeline; rows
	// beyond the limit are left to the table below it.
	// legendPerRow entries of legendEntryWidth fit right of a title.
	legendPerRow     = 5
	legendEntryWidth = 110
	// windowLabelRows is how many lines window labels step through.
	windowLabelRows   = 3
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

func (c chart) svg() template.HTML {
	var svg strings.Builder
	plotWidth := float64(chartWidth - chartMarginLeft - chartMarginRight)
	plotHeight := float64(chartHeight - chartMarginTop - chartMarginBottom)
	yMax := 0.0
	for _, l := range c.lines {
		for _, p := range l.points {
			yMax = math.Max(yMax, p.y)
		}
	}
	yStep := niceStep(yMax)
	yTop := math.Max(yStep, math.Ceil(yMax/yStep)*yStep)
	endMs := max(c.endMs, 1)
	x := func(ms int64) float64 { return chartMarginLeft + plotWidth*float64(ms)/float64(endMs) }
	y := func(value float64) float64 { return chartMarginTop + plotHeight*(1-value/yTop) }

	fmt.Fprintf(&svg, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s">`, chartWidth, chartHeight, escape(c.title))
	fmt.Fprintf(&svg, `<text x="%d" y="16" class="title">%s</text>`, chartMarginLeft, escape(c.title))
	c.drawWindows(&svg, x, chartMarginTop, plotHeight)
	for value := 0.0; value <= yTop+yStep/2; value += yStep {
		fmt.Fprintf(&svg, `<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" class="grid"/>`, chartMarginLeft, chartMarginLeft+plotWidth, y(value), y(value))
		fmt.Fprintf(&svg, `<text x="%d" y="%.1f" class="tick" text-anchor="end">%s</text>`, chartMarginLeft-6, y(value)+4, formatNumber(value))
	}
	drawTimeAxis(&svg, x, endMs, chartMarginTop+plotHeight)
	fmt.Fprintf(&svg, `<text x="14" y="%.1f" class="tick" transform="rotate(-90 14 %.1f)" text-anchor="middle">%s</text>`, chartMarginTop+plotHeight/2, chartMarginTop+plotHeight/2, escape(c.unit))
	for i, l := range c.lines {
		color := palette[i%len(palette)]
		c.drawLine(&svg, l, color, x, y)
		// The legend fills rows of legendPerRow from the right of the title.
		row, column := i/legendPerRow, i%legendPerRow
		legendX := chartWidth - chartMarginRight - legendEntryWidth*(legendPerRow-column)
		legendY := 7 + 12*row
		fmt.Fprintf(&svg, `<rect x="%d" y="%d" width="12" height="4" fill="%s"/><text x="%d" y="%d" class="tick">%s</text>`, legendX, legendY, color, legendX+16, legendY+6, escape(l.label))
	}
	if allEmpty(c.lines) {
		fmt.Fprintf(&svg, `<text x="%.1f" y="%.1f" class="tick" text-anchor="middle">no data</text>`, chartMarginLeft+plotWidth/2, chartMarginTop+plotHeight/2)
	}
	svg.WriteString(`</svg>`)
	// Every string above went through escape or is a number: safe.
	return template.HTML(svg.String())
}

func (c chart) drawWindows(svg *strings.Builder, x func(int64) float64, top, height float64) {
	for i, window := range c.windows {
		width := math.Max(x(window.ToMs)-x(window.FromMs), 1)
		fmt.Fprintf(svg, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" fill-opacity="0.16"><title>%s (%s to %s)</title></rect>`,
			x(window.FromMs), top, width, height, windowColor, escape(window.Label), runTime(window.FromMs), runTime(window.ToMs))
		// Labels step down a line each so that windows starting close
		// together stay readable.
		labelY := top + 11 + float64(11*(i%windowLabelRows))
		fmt.Fprintf(svg, `<text x="%.1f" y="%.1f" class="window">%s</text>`, x(window.FromMs)+3, labelY, escape(window.Label))
	}
	for _, fault := range c.faults {
		fmt.Fprintf(svg, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="3 3"><title>%s %s at %s</title></line>`,
			x(fault.AtMs), x(fault.AtMs), top, top+height, faultColor, escape(fault.Action), escape(fault.Target), runTime(fault.AtMs))
	}
}

func (c chart) drawLine(svg *strings.Builder, l line, color string, x func(int64) float64, y func(float64) float64) {
	if len(l.points) == 1 {
		p := l.points[0]
		fmt.Fprintf(svg, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>`, x(p.xMs), y(p.y), color)
		return
	}
	coordinates := make([]string, len(l.points))
	for i, p := range l.points {
		coordinates[i] = fmt.Sprintf("%.1f,%.1f", x(p.xMs), y(p.y))
	}
	dash := ""
	if l.dashed {
		dash = ` stroke-dasharray="6 4"`
	}
	fmt.Fprintf(svg, `<polyline fill="none" stroke="%s" stroke-width="1.6"%s points="%s"><title>%s</title></polyline>`, color, dash, strings.Join(coordinates, " "), escape(l.label))
}

func allEmpty(lines []line) bool {
	for _, l := range lines {
		if len(l.points) > 0 {
			return false
		}
	}
	return true
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
