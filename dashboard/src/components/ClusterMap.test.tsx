import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import { ClusterMap } from './ClusterMap';
import { applyEvent, emptyFeed, type FeedEvent } from '../feed';

function feedOf(events: FeedEvent[]) {
  return events.reduce(applyEvent, emptyFeed);
}

const topology: FeedEvent = { kind: 'topology', data: { nodes: ['n1', 'n2', 'n3'], balancer: 'balancer', redis: 'redis' } };

describe('ClusterMap', () => {
  it('draws the balancer, every node and Redis', () => {
    render(<ClusterMap feed={feedOf([topology])} />);
    for (const name of ['balancer', 'n1', 'n2', 'n3', 'redis']) {
      expect(screen.getByTestId(`component-${name}`)).toHaveTextContent(name);
    }
    expect(screen.getByTestId('link-balancer-n2')).toBeInTheDocument();
    expect(screen.getByTestId('link-n2-redis')).toBeInTheDocument();
  });

  it('marks a down node and dims its links', () => {
    render(
      <ClusterMap
        feed={feedOf([
          topology,
          { kind: 'component', data: { t_ms: 0, name: 'n1', state: 'up' } },
          { kind: 'component', data: { t_ms: 8000, name: 'n2', state: 'down' } },
          { kind: 'stats', data: { t_ms: 9000, sends_per_s: 0, deliveries_per_s: 0, connections: { n1: 30, n2: 0 } } },
        ])}
      />,
    );
    const down = screen.getByTestId('component-n2');
    expect(down).toHaveAttribute('data-state', 'down');
    expect(down).toHaveClass('down');
    expect(down).toHaveTextContent('down');
    expect(screen.getByTestId('component-n1')).toHaveTextContent('up · 30 conn');
    expect(screen.getByTestId('link-balancer-n2')).toHaveClass('dim');
    expect(screen.getByTestId('link-balancer-n1')).not.toHaveClass('dim');
  });

  it('draws a partition and a fault on the links they hit', () => {
    render(
      <ClusterMap
        feed={feedOf([
          topology,
          { kind: 'component', data: { t_ms: 0, name: 'n3', state: 'up', partitioned_from: ['redis'] } },
          { kind: 'fault', data: { at_ms: 1000, action: 'delay', target: 'balancer-n1', duration_ms: 60_000 } },
          { kind: 'stats', data: { t_ms: 2000, sends_per_s: 0, deliveries_per_s: 0, connections: {} } },
        ])}
      />,
    );
    expect(screen.getByTestId('link-n3-redis')).toHaveClass('cut');
    expect(screen.getByTestId('link-n3-redis')).toHaveTextContent('✕');
    expect(screen.getByTestId('link-balancer-n1')).toHaveClass('faulty');
    expect(screen.getByTestId('link-balancer-n1')).toHaveTextContent('delay');
    expect(screen.getByTestId('link-n1-redis')).not.toHaveClass('cut');
  });

  it('waits for a topology', () => {
    render(<ClusterMap feed={emptyFeed} />);
    expect(screen.getByText(/waiting for the topology/i)).toBeInTheDocument();
  });
});
