import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import { EventLog } from './EventLog';
import { applyEvent, emptyFeed, type FeedEvent } from '../feed';

describe('EventLog', () => {
  it('lists events newest first by their time, not by when the browser heard of them', () => {
    // What a browser connecting after the run gets: the faults, then each
    // component's latest state (n1's from after its restart).
    const events: FeedEvent[] = [
      { kind: 'run', data: { mode: 'sim', scenario: 'node-restart', state: 'running' } },
      { kind: 'fault', data: { at_ms: 8000, action: 'restart', target: 'n1', duration_ms: 4000 } },
      { kind: 'component', data: { t_ms: 0, name: 'n2', state: 'up' } },
      { kind: 'component', data: { t_ms: 13000, name: 'n1', state: 'up' } },
      { kind: 'component', data: { t_ms: 0, name: 'balancer', state: 'up' } },
    ];
    render(<EventLog feed={events.reduce(applyEvent, emptyFeed)} />);
    const lines = screen.getAllByRole('listitem').map((item) => item.textContent);
    expect(lines).toEqual(['13.0s n1 is up', '8.0s fault: restart n1 for 4s', '0.0s balancer is up', '0.0s n2 is up']);
  });
});
