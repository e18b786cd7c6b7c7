import type { FeedState } from '../feed';
import { faultBands } from '../faultBands';
import { LineChart, type Series } from './LineChart';

// windowMs is how much time the charts show: the last two minutes.
export const windowMs = 120_000;

// Charts draws throughput, latency and connections per node, with the
// faults as bands behind each.
export function Charts({ feed }: { feed: FeedState }) {
  const stats = feed.stats;
  const lastFaultMs = feed.faults.at(-1)?.at_ms ?? 0;
  const untilMs = Math.max(stats.at(-1)?.t_ms ?? 0, lastFaultMs, 1000);
  const fromMs = Math.max(0, untilMs - windowMs);
  const bands = faultBands(feed.faults, untilMs, untilMs - fromMs);
  const shown = stats.filter((s) => s.t_ms >= fromMs);
  const throughput: Series[] = [
    { name: 'sends/s', points: shown.map((s) => [s.t_ms, s.sends_per_s]), axis: 'right' },
    { name: 'deliveries/s', points: shown.map((s) => [s.t_ms, s.deliveries_per_s]) },
  ];
  const measured = shown.filter((s) => s.latency);
  const latency: Series[] = [
    { name: 'p50', points: measured.map((s) => [s.t_ms, s.latency!.p50_ms]) },
    { name: 'p99', points: measured.map((s) => [s.t_ms, s.latency!.p99_ms]) },
  ];
  const nodes = feed.topology?.nodes ?? [];
  const connections: Series[] = nodes.map((node) => ({
    name: node,
    points: shown.map((s) => [s.t_ms, s.connections[node] ?? 0]),
  }));
  const common = { bands, fromMs, untilMs };
  return (
    <section className="panel charts">
      <h2>Charts</h2>
      <div className="chart-row">
        <LineChart title="Throughput" unit="per second" series={throughput} {...common} />
      {measured.length > 0 ? (
        <LineChart title="Delivery latency" unit="ms" series={latency} {...common} />
      ) : (
        <p className="muted">Delivery latency: not measured by this source.</p>
      )}
        <LineChart title="Connections per node" unit="connections" series={connections} {...common} />
      </div>
    </section>
  );
}
