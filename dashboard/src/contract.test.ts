/// <reference types="vite/client" />
// The contract with the Go side: Go writes what it sends into src/testdata
// (dashboard/contract_test.go, cmd/chatlab/contract_test.go) and these
// tests run it through the reducer and the views. Either side changing
// alone fails a test.
import { describe, expect, it, vi, afterEach } from 'vitest';
import { createElement } from 'react';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import feedText from './testdata/feed.jsonl?raw';
import declared from './testdata/declared.json';
import runs from './testdata/runs.json';
import report from './testdata/report.json';
import { applyEvent, componentStates, emptyFeed, eventKinds, runModes, runStates, type FeedEvent, type FeedState } from './feed';
import { RunsView, type RunSummary } from './components/RunsView';

const events: FeedEvent[] = feedText
  .split('\n')
  .filter((line) => line !== '')
  .map((line) => JSON.parse(line) as FeedEvent);

describe('the values Go declares', () => {
  it('are the ones the browser knows', () => {
    expect([...runModes].sort()).toEqual([...declared.RunMode].sort());
    expect([...runStates].sort()).toEqual([...declared.RunState].sort());
    expect([...componentStates].sort()).toEqual([...declared.ComponentState].sort());
    expect([...eventKinds].sort()).toEqual([...declared.Kind].sort());
  });
});

describe('the feed Go sends', () => {
  it('is reduced to the picture it describes, run by run', () => {
    expect(events.length).toBeGreaterThan(0);
    const seenModes = new Set<string>();
    let state: FeedState = emptyFeed;
    let pictures = 0;
    const check = (picture: FeedState) => {
      pictures++;
      expect(runModes).toContain(picture.run?.mode);
      expect(picture.topology?.nodes.length).toBeGreaterThan(0);
      for (const component of Object.values(picture.components)) {
        expect(componentStates).toContain(component.state);
      }
      expect(picture.stats.length).toBeGreaterThan(0);
      for (const stats of picture.stats) {
        expect(Number.isFinite(stats.deliveries_per_s)).toBe(true);
        expect(Object.values(stats.connections).every(Number.isInteger)).toBe(true);
      }
      expect(picture.faults.every((fault) => fault.action !== '' && Number.isFinite(fault.at_ms))).toBe(true);
      expect(Object.keys(picture.checks).length).toBeGreaterThan(0);
      expect(picture.log.every((line) => line.text !== '' && !line.text.includes('undefined'))).toBe(true);
    };
    for (const event of events) {
      expect(eventKinds).toContain(event.kind);
      if (event.kind === 'run' && event.data.state === 'running' && state.run) {
        check(state);
      }
      state = applyEvent(state, event);
      if (event.kind === 'run') {
        seenModes.add(event.data.mode);
      }
    }
    check(state);
    expect([...seenModes].sort()).toEqual([...runModes].sort());
    expect(pictures).toBe(runModes.length);
  });
});

describe('the runs Go lists', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('open with the report a run wrote', async () => {
    const list = runs as RunSummary[];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string) => {
        const body = url === '/api/runs' ? list : url.endsWith('/report.json') ? report : null;
        return { ok: body !== null, statusText: 'Not Found', json: async () => body };
      }),
    );
    render(createElement(RunsView));
    const good = list.find((run) => !run.problem)!;
    const broken = list.find((run) => run.problem)!;
    fireEvent.click(await screen.findByRole('button', { name: good.id }));
    expect(await screen.findByText(broken.problem!)).toBeInTheDocument();
    const detail = await screen.findByTestId('run-detail');
    await waitFor(() => expect(detail.querySelectorAll('tbody tr')).toHaveLength(report.checks.length));
    for (const check of report.checks) {
      expect(detail).toHaveTextContent(check.name);
    }
    expect(detail).toHaveTextContent(`${good.scenario} · seed ${good.seed}`);
  });
});

describe('a run that is over', () => {
  it('is logged when it ended, even when the browser hears of it first', () => {
    const done = events.find((event) => event.kind === 'run' && event.data.state === 'done');
    expect(done?.kind).toBe('run');
    const state = applyEvent(emptyFeed, done!);
    expect(state.log.at(-1)?.t_ms).toBe(done!.kind === 'run' ? done!.data.t_ms : -1);
    expect(state.log.at(-1)?.t_ms).toBeGreaterThan(0);
  });
});
