import type { FaultBand } from '../faultBands';
import { figure, seconds } from '../format';

export interface Series {
  name: string;
  points: Array<[number, number]>; // [t_ms, value]
}

interface Props {
  title: string;
  unit: string;
  series: Series[];
  bands: FaultBand[];
  fromMs: number;
  untilMs: number;
}

// The chart's drawing area, in SVG units (it scales to its box).
const width = 400;
const height = 160;
const margin = { left: 36, right: 8, top: 10, bottom: 20 };
const colors = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

// LineChart draws series over time with the fault bands behind them.
export function LineChart({ title, unit, series, bands, fromMs, untilMs }: Props) {
  const spanMs = Math.max(untilMs - fromMs, 1);
  const peak = Math.max(1, ...series.flatMap((s) => s.points.map(([, value]) => value)));
  const x = (t: number) => margin.left + ((t - fromMs) / spanMs) * (width - margin.left - margin.right);
  const y = (value: number) => height - margin.bottom - (value / peak) * (height - margin.top - margin.bottom);
  const clamp = (t: number) => Math.min(Math.max(t, fromMs), untilMs);
  const visible = bands.filter((band) => band.endMs >= fromMs && band.startMs <= untilMs);
  return (
    <figure className="chart">
      <figcaption>
        {title} <span className="unit">({unit})</span>
        {series.map((s, i) => (
          <span key={s.name} className="legend" style={{ color: colors[i % colors.length] }}>
            ■ {s.name}
          </span>
        ))}
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={title}>
        {visible.map((band, i) => (
          <g key={`${band.label}-${band.startMs}-${i}`} className="fault-band" data-testid="fault-band">
            <rect
              x={x(clamp(band.startMs))}
              y={margin.top}
              width={Math.max(x(clamp(band.endMs)) - x(clamp(band.startMs)), 2)}
              height={height - margin.top - margin.bottom}
            />
            <text x={x(clamp(band.startMs)) + 3} y={margin.top + 11}>
              {band.label}
            </text>
          </g>
        ))}
        <line className="axis" x1={margin.left} y1={height - margin.bottom} x2={width - margin.right} y2={height - margin.bottom} />
        <line className="axis" x1={margin.left} y1={margin.top} x2={margin.left} y2={height - margin.bottom} />
        <text className="tick" x={margin.left - 4} y={margin.top + 8} textAnchor="end">
          {figure(peak)}
        </text>
        <text className="tick" x={margin.left - 4} y={height - margin.bottom} textAnchor="end">
          0
        </text>
        <text className="tick" x={margin.left} y={height - 6}>
          {seconds(fromMs)}
        </text>
        <text className="tick" x={width - margin.right} y={height - 6} textAnchor="end">
          {seconds(untilMs)}
        </text>
        {series.map((s, i) => (
          <polyline
            key={s.name}
            className="series"
            data-testid={`series-${s.name}`}
            stroke={colors[i % colors.length]}
            points={s.points.map(([t, value]) => `${x(t).toFixed(1)},${y(value).toFixed(1)}`).join(' ')}
          />
        ))}
      </svg>
    </figure>
  );
}
