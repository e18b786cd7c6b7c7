import { describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import { Charts } from './Charts';
import { chartData, chartOptions, type Series } from './LineChart';
import { applyEvent, emptyFeed, type FeedEvent } from '../feed';

function statsAt(t_ms: number, latency = true): FeedEvent {
  return {
    kind: 'stats',
    data: {
      t_ms,
      sends_per_s: 60,
      deliveries_per_s: 900,
      latency: latency ? { p50_ms: 3, p99_ms: 12 } : undefined,
      connections: { n1: 20, n2: 20 },
    },
  };
}

describe('Charts', () => {
  it('draws every fault as a band on each chart', () => {
    const events: FeedEvent[] = [
      { kind: 'topology', data: { nodes: ['n1', 'n2'] } },
      ...[1000, 2000, 3000, 4000, 5000].map((t) => statsAt(t)),
      { kind: 'fault', data: { at_ms: 2500, action: 'restart', target: 'n1', duration_ms: 1000 } },
    ];
    render(<Charts feed={events.reduce(applyEvent, emptyFeed)} />);
    const charts = ['Throughput', 'Delivery latency', 'Connections per node'].map((title) => screen.getByRole('img', { name: title }));
    for (const chart of charts) {
      const bands = within(chart as unknown as HTMLElement).getAllByTestId('fault-band');
      expect(bands).toHaveLength(1);
      expect(bands[0]).toHaveTextContent('restart n1');
    }
    expect(screen.getByRole('img', { name: 'Connections per node' })).toHaveTextContent('n2');
  });

  it('aligns every series on one time column, with gaps where a series has no point', () => {
    const data = chartData([
      { name: 'a', points: [[1000, 1], [2000, 2]] },
      { name: 'b', points: [[2000, 5], [3000, 6]] },
    ]);
    expect(data).toEqual([[1000, 2000, 3000], [1, 2, null], [null, 5, 6]]);
  });

  it('gives each series its own dash, and the sends their own axis', () => {
    const nodes: Series[] = ['n1', 'n2', 'n3'].map((name) => ({ name, points: [[1000, 20]] }));
    const options = chartOptions('connections', nodes, { fromMs: 0, untilMs: 2000 }, 400);
    const drawn = options.series.slice(1);
    expect(new Set(drawn.map((s) => JSON.stringify(s.dash))).size).toBe(3);
    expect(new Set(drawn.map((s) => s.stroke)).size).toBe(3);
    const throughput = chartOptions('per second', [
      { name: 'sends/s', points: [], axis: 'right' },
      { name: 'deliveries/s', points: [] },
    ], { fromMs: 0, untilMs: 2000 }, 400);
    expect(throughput.series[1].scale).toBe('right');
    expect(throughput.series[2].scale).toBe('y');
    expect(throughput.axes?.some((axis) => axis.scale === 'right' && axis.side === 1)).toBe(true);
  });

  it('says when latency is not measured', () => {
    const events: FeedEvent[] = [{ kind: 'topology', data: { nodes: ['n1'] } }, statsAt(1000, false)];
    render(<Charts feed={events.reduce(applyEvent, emptyFeed)} />);
    expect(screen.queryByRole('img', { name: 'Delivery latency' })).toBeNull();
    expect(screen.getByText(/latency: not measured/i)).toBeInTheDocument();
  });
});
