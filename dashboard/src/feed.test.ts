import { describe, expect, it } from 'vitest';
import { applyEvent, emptyFeed, logLenMax, statsLenMax, type FeedEvent, type FeedState } from './feed';

function applyAll(events: FeedEvent[], state: FeedState = emptyFeed): FeedState {
  return events.reduce(applyEvent, state);
}

const start: FeedEvent[] = [
  { kind: 'run', data: { mode: 'sim', scenario: 'node-restart', seed: 1, state: 'running' } },
  { kind: 'topology', data: { nodes: ['n1', 'n2', 'n3'], balancer: 'balancer', redis: 'redis' } },
  { kind: 'component', data: { t_ms: 0, name: 'n1', state: 'up' } },
];

describe('applyEvent', () => {
  it('keeps the run, the topology and each component’s latest state', () => {
    const state = applyAll([...start, { kind: 'component', data: { t_ms: 8000, name: 'n1', state: 'down' } }]);
    expect(state.run?.scenario).toBe('node-restart');
    expect(state.topology?.nodes).toEqual(['n1', 'n2', 'n3']);
    expect(state.components.n1.state).toBe('down');
  });

  it('logs a component only when its state or partitions change', () => {
    const state = applyAll([
      ...start,
      { kind: 'component', data: { t_ms: 100, name: 'n1', state: 'up' } },
      { kind: 'component', data: { t_ms: 200, name: 'n1', state: 'up', partitioned_from: ['redis'] } },
      { kind: 'component', data: { t_ms: 8000, name: 'n1', state: 'down' } },
    ]);
    expect(state.log.map((line) => line.text)).toEqual(['n1 is up', 'n1 is up, cut off from redis', 'n1 is down']);
  });

  it('records faults and logs them at their time', () => {
    const state = applyAll([...start, { kind: 'fault', data: { at_ms: 8000, action: 'restart', target: 'n1', duration_ms: 2000 } }]);
    expect(state.faults).toHaveLength(1);
    expect(state.log.at(-1)).toEqual({ t_ms: 8000, text: 'fault: restart n1 for 2s', kind: 'fault' });
  });

  it('logs a check that turns from holding to violated', () => {
    const state = applyAll([
      ...start,
      { kind: 'stats', data: { t_ms: 5000, sends_per_s: 1, deliveries_per_s: 2, connections: {} } },
      { kind: 'check', data: { name: 'no-loss', ok: true, violations: 0 } },
      { kind: 'check', data: { name: 'no-loss', ok: false, violations: 3 } },
    ]);
    expect(state.checks['no-loss']).toMatchObject({ ok: false, violations: 3 });
    expect(state.log.at(-1)).toEqual({ t_ms: 5000, text: 'check no-loss failed: 3 violation(s)', kind: 'check' });
  });

  it('starts over on a new run', () => {
    const state = applyAll([
      ...start,
      { kind: 'log', data: { t_ms: 1, text: 'old' } },
      { kind: 'run', data: { mode: 'sim', seed: 2, state: 'running' } },
    ]);
    expect(state.run?.seed).toBe(2);
    expect(state.topology).toBeNull();
    expect(state.components).toEqual({});
    expect(state.log).toEqual([]);
  });

  it('logs the end of a run with its verdict', () => {
    const state = applyAll([...start, { kind: 'run', data: { mode: 'sim', seed: 1, state: 'done', verdict: 'pass' } }]);
    expect(state.run?.verdict).toBe('pass');
    expect(state.log.at(-1)?.text).toBe('run done: pass');
    expect(state.topology).not.toBeNull();
  });

  it('bounds the stats and the log', () => {
    let state = applyAll(start);
    for (let i = 0; i < statsLenMax + 10; i++) {
      state = applyEvent(state, { kind: 'stats', data: { t_ms: i, sends_per_s: 0, deliveries_per_s: 0, connections: {} } });
      state = applyEvent(state, { kind: 'log', data: { t_ms: i, text: `line ${i}` } });
    }
    expect(state.stats).toHaveLength(statsLenMax);
    expect(state.stats[0].t_ms).toBe(10);
    expect(state.log).toHaveLength(logLenMax);
    expect(state.log.at(-1)?.text).toBe(`line ${statsLenMax + 9}`);
  });
});

describe('an instant restart', () => {
  it('shows the node down until a stats event restartShownMs later, then up', () => {
    const stats = (t_ms: number): FeedEvent => ({ kind: 'stats', data: { t_ms, sends_per_s: 0, deliveries_per_s: 0, connections: {} } });
    let state = applyAll([...start, { kind: 'fault', data: { at_ms: 8000, action: 'restart', target: 'n1' } }]);
    expect(state.components.n1.state).toBe('down');
    state = applyEvent(state, stats(8500));
    expect(state.components.n1.state).toBe('down');
    state = applyEvent(state, stats(9000));
    expect(state.components.n1.state).toBe('up');
    expect(state.log.map((line) => line.text)).toContain('n1 is down (restarting)');
    expect(state.log.at(-1)?.text).toBe('n1 is up (restarted)');
  });

  it('leaves a restart with a duration, and any later component event, to the feed', () => {
    let state = applyAll([...start, { kind: 'fault', data: { at_ms: 8000, action: 'restart', target: 'n1', duration_ms: 3000 } }]);
    expect(state.components.n1.state).toBe('up');
    state = applyAll(
      [
        { kind: 'fault', data: { at_ms: 9000, action: 'restart', target: 'n1' } },
        { kind: 'component', data: { t_ms: 9100, name: 'n1', state: 'down' } },
        { kind: 'stats', data: { t_ms: 12_000, sends_per_s: 0, deliveries_per_s: 0, connections: {} } },
      ],
      state,
    );
    expect(state.components.n1.state).toBe('down');
  });
});
