import { describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import { Charts } from './Charts';
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
    expect(screen.getByTestId('series-n2').getAttribute('points')?.split(' ')).toHaveLength(5);
  });

  it('says when latency is not measured', () => {
    const events: FeedEvent[] = [{ kind: 'topology', data: { nodes: ['n1'] } }, statsAt(1000, false)];
    render(<Charts feed={events.reduce(applyEvent, emptyFeed)} />);
    expect(screen.queryByRole('img', { name: 'Delivery latency' })).toBeNull();
    expect(screen.getByText(/latency: not measured/i)).toBeInTheDocument();
  });
});
