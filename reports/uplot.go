package reports

import (
	_ "embed"
	"html/template"
)

// The run page draws its charts with uPlot (github.com/leeoniya/uPlot, MIT,
// assets/uPlot.LICENSE), inlined so that the page stays one file that opens
// anywhere. The copy under assets is the version dashboard/package.json
// pins (TestUplotCopyIsTheDashboardsVersion).
var (
	//go:embed assets/uPlot.iife.min.js
	uplotJS string
	//go:embed assets/uPlot.min.css
	uplotCSS string
)

// uplotInit draws every chart of the page from its chartSpec (chart.go):
// lines with their own colours and dashes, the fault windows shaded and
// labelled, each fault's moment marked, times in seconds, a right-hand
// axis for the lines that ask for one.
const uplotInit = `(function () {
  function number(v) { return Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100); }
  function secs(ms) { return number(ms / 1000) + 's'; }
  document.querySelectorAll('.uchart').forEach(function (box) {
    var spec = JSON.parse(box.nextElementSibling.textContent);
    var data = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
    var behind = function (u) {
      var ctx = u.ctx, px = uPlot.pxRatio, top = u.bbox.top, height = u.bbox.height;
      ctx.save();
      ctx.font = (10 * px) + 'px sans-serif';
      spec.windows.forEach(function (w, i) {
        var from = u.valToPos(w.from_ms, 'x', true), to = u.valToPos(w.to_ms, 'x', true);
        ctx.fillStyle = 'rgba(245, 158, 11, 0.16)';
        ctx.fillRect(from, top, Math.max(to - from, px), height);
        ctx.fillStyle = '#92400e';
        ctx.fillText(w.label, from + 3 * px, top + (11 + 11 * (i % 3)) * px);
      });
      ctx.strokeStyle = '#b45309';
      ctx.setLineDash([3 * px, 3 * px]);
      spec.faults.forEach(function (f) {
        var x = Math.round(u.valToPos(f.at_ms, 'x', true));
        ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
      });
      ctx.restore();
    };
    var fromZero = function (u, min, max) { return [0, Math.max(1, max) * 1.1]; };
    var right = spec.series.filter(function (s) { return s.right; });
    var axes = [
      { values: function (u, splits) { return splits.map(secs); } },
      { label: spec.unit, values: function (u, splits) { return splits.map(number); } }
    ];
    if (right.length > 0) {
      axes.push({ scale: 'right', side: 1, grid: { show: false }, label: right.map(function (s) { return s.label; }).join(', '),
        values: function (u, splits) { return splits.map(number); } });
    }
    var options = {
      width: Math.max(box.clientWidth, 360), height: 240,
      scales: { x: { time: false, range: [0, spec.end_ms] }, y: { range: fromZero }, right: { range: fromZero } },
      axes: axes,
      series: [{ label: 'time', value: function (u, t) { return t == null ? '' : secs(t); } }].concat(spec.series.map(function (s) {
        return { label: s.label, scale: s.right ? 'right' : 'y', stroke: s.color, dash: s.dash, width: 1.6,
          points: { show: spec.x.length < 3 },
          value: function (u, v) { return v == null ? '–' : number(v); } };
      })),
      // Until the cursor comes, the legend shows the last values.
      hooks: { drawClear: [behind], ready: [function (u) { u.setLegend({ idx: spec.x.length - 1 }); }] }
    };
    if (spec.x.length === 0) {
      box.textContent = 'no data';
      return;
    }
    new uPlot(options, data, box);
  });
})();`

// pageScript is the run page's script: uPlot, then the charts.
func pageScript() template.JS {
	return template.JS(uplotJS + "\n" + uplotInit)
}
