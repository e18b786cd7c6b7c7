import { useEffect, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { FaultBand } from '../faultBands';
import { figure, seconds } from '../format';

export interface Series {
  name: string;
  points: Array<[number, number]>; // [t_ms, value]
  // axis 'right' puts the series on a scale and axis of its own, on the
  // right: a rate of a few dozen beside one of thousands stays readable.
  axis?: 'left' | 'right';
}

interface Props {
  title: string;
  unit: string;
  series: Series[];
  bands: FaultBand[];
  fromMs: number;
  untilMs: number;
}

export const colors = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];
// Each series of a chart has its own dash as well as its own colour, so
// that lines lying on top of each other (three nodes holding the same
// number of connections) all stay visible.
export const dashes: number[][] = [[], [7, 4], [2, 3], [10, 3, 2, 3], [4, 4], [1, 5]];

const height = 170;

// tick labels a value axis: whole numbers as they are.
function tick(value: number): string {
  return Number.isInteger(value) ? String(value) : figure(value);
}

// chartData lays the series out as uPlot wants them: one sorted time
// column (ms) and, per series, its value at each time or null where that
// series has no point.
export function chartData(series: Series[]): uPlot.AlignedData {
  const times = [...new Set(series.flatMap((s) => s.points.map(([t]) => t)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = series.map((s) => {
    const column: Array<number | null> = times.map(() => null);
    for (const [t, value] of s.points) {
      column[index.get(t)!] = value;
    }
    return column;
  });
  return [times, ...columns];
}

// XRange is the time a chart shows; the chart reads it at every redraw,
// so the window slides without the chart being made again.
export interface XRange {
  fromMs: number;
  untilMs: number;
}

// chartOptions is everything about the chart but its data and its width.
export function chartOptions(unit: string, series: Series[], x: XRange, width: number): uPlot.Options {
  const right = series.some((s) => s.axis === 'right');
  const rightUnit = series.filter((s) => s.axis === 'right').map((s) => s.name).join(', ');
  return {
    width,
    height,
    cursor: { drag: { x: true, y: false } },
    legend: { live: true },
    scales: {
      x: { time: false, range: () => [x.fromMs, Math.max(x.untilMs, x.fromMs + 1)] },
      y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] },
      ...(right ? { right: { range: (_u: uPlot, _min: number, max: number) => [0, Math.max(1, max) * 1.1] as uPlot.Range.MinMax } } : {}),
    },
    axes: [
      { values: (_u, splits) => splits.map((t) => seconds(t)), size: 28 },
      { label: unit, labelSize: 14, size: 44, values: (_u, splits) => splits.map(tick) },
      ...(right
        ? [{ scale: 'right', side: 1 as const, label: rightUnit, labelSize: 14, size: 44, grid: { show: false },
            values: (_u: uPlot, splits: number[]) => splits.map(tick) }]
        : []),
    ],
    series: [
      { label: 'time', value: (_u, t) => (t == null ? '' : seconds(t)) },
      ...series.map((s, i) => ({
        label: s.name,
        scale: s.axis === 'right' ? 'right' : 'y',
        stroke: colors[i % colors.length],
        dash: dashes[i % dashes.length],
        width: 1.6,
        points: { show: false },
        value: (_u: uPlot, v: number | null) => (v == null ? '–' : figure(v)),
      })),
    ],
  };
}

// LineChart draws series over time with uPlot (axes, ticks, a legend with
// the values under the cursor, drag to zoom) and the fault bands laid
// over its plotting area.
export function LineChart({ title, unit, series, bands, fromMs, untilMs }: Props) {
  const box = useRef<HTMLDivElement>(null);
  // One object for the chart's life, read by its x range at each redraw.
  const x = useRef<XRange>({ fromMs, untilMs });
  x.current.fromMs = fromMs;
  x.current.untilMs = untilMs;
  const [plot, setPlot] = useState<uPlot | null>(null);
  const key = `${series.map((s) => `${s.name}:${s.axis ?? 'left'}`).join(',')}`;

  // The chart is made again when its series change (a node joins the
  // topology) and otherwise only given new data.
  useEffect(() => {
    const element = box.current!;
    const width = Math.max(element.clientWidth, 320);
    const made = new uPlot(chartOptions(unit, series, x.current, width), chartData(series), element);
    setPlot(made);
    const resize = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(() => {
      made.setSize({ width: Math.max(element.clientWidth, 320), height });
    });
    resize?.observe(element);
    return () => {
      resize?.disconnect();
      made.destroy();
      setPlot(null);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, title, unit]);

  useEffect(() => {
    if (!plot) {
      return;
    }
    // Setting the data ranges the scales again: x from the window above.
    const data = chartData(series);
    plot.setData(data);
    // Away from the cursor, the legend shows the latest values.
    if ((plot.cursor.left ?? -1) < 0 && data[0].length > 0) {
      plot.setLegend({ idx: data[0].length - 1 });
    }
  }, [plot, series, fromMs, untilMs]);

  const spanMs = Math.max(untilMs - fromMs, 1);
  const share = (t: number) => ((Math.min(Math.max(t, fromMs), untilMs) - fromMs) / spanMs) * 100;
  const visible = bands.filter((band) => band.endMs >= fromMs && band.startMs <= untilMs);
  return (
    <figure className="chart">
      <figcaption>
        {title} <span className="unit">({unit})</span>
      </figcaption>
      <div ref={box} className="plot" role="img" aria-label={title} data-series={series.map((s) => s.name).join(',')} />
      {plot &&
        createPortal(
          visible.map((band, i) => (
            <div
              key={`${band.label}-${band.startMs}-${i}`}
              className="fault-band"
              data-testid="fault-band"
              title={band.label}
              style={{ left: `${share(band.startMs)}%`, width: `max(${share(band.endMs) - share(band.startMs)}%, 2px)` }}
            >
              <span>{band.label}</span>
            </div>
          )),
          plot.over,
        )}
    </figure>
  );
}
