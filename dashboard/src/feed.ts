// The feed's events (dashboard/feed_events.go is the other side) and the
// reducer that turns them into what the views draw.

// The values Go declares (feed_events.go); src/contract.test.ts holds
// these lists to the ones Go writes into src/testdata/declared.json.
export const componentStates = ['up', 'down', 'paused', 'draining'] as const;
export const runModes = ['sim', 'local', 'docker', 'watch'] as const;
export const runStates = ['running', 'done'] as const;
export const eventKinds = ['run', 'topology', 'component', 'stats', 'fault', 'check', 'log'] as const;

export type ComponentState = (typeof componentStates)[number];
export type RunMode = (typeof runModes)[number];

export interface Run {
  mode: RunMode;
  scenario?: string;
  target?: string;
  seed?: number;
  delivery?: string;
  pace?: number;
  state: (typeof runStates)[number];
  verdict?: string;
  report?: string;
  t_ms?: number; // when a done run ended
}

export interface Topology {
  nodes: string[];
  balancer?: string;
  redis?: string;
}

export interface Component {
  t_ms: number;
  name: string;
  state: ComponentState;
  partitioned_from?: string[];
}

export interface Stats {
  t_ms: number;
  sends_per_s: number;
  deliveries_per_s: number;
  latency?: { p50_ms: number; p99_ms: number };
  connections: Record<string, number>;
}

export interface Fault {
  at_ms: number;
  action: string;
  target?: string;
  duration_ms?: number;
}

export interface Check {
  name: string;
  ok: boolean;
  violations: number;
  detail?: string;
  // not judged yet (ok means nothing): judged once the run is quiet or over
  pending?: boolean;
}

export interface Log {
  t_ms: number;
  text: string;
}

export type FeedEvent =
  | { kind: 'run'; data: Run }
  | { kind: 'topology'; data: Topology }
  | { kind: 'component'; data: Component }
  | { kind: 'stats'; data: Stats }
  | { kind: 'fault'; data: Fault }
  | { kind: 'check'; data: Check }
  | { kind: 'log'; data: Log };

// Compiles only while FeedEvent has exactly the declared kinds.
export const feedEventKindsDeclared: [Exclude<(typeof eventKinds)[number], FeedEvent['kind']>] extends [never]
  ? [Exclude<FeedEvent['kind'], (typeof eventKinds)[number]>] extends [never]
    ? true
    : false
  : false = true;

// One line of the event log: what happened, and what kind of thing it was.
export interface LogLine {
  t_ms: number;
  text: string;
  kind: 'log' | 'fault' | 'component' | 'check' | 'run';
}

export interface FeedState {
  run: Run | null;
  topology: Topology | null;
  components: Record<string, Component>;
  stats: Stats[];
  faults: Fault[];
  checks: Record<string, Check>;
  log: LogLine[];
  // restarting maps a component restarted in an instant (a restart fault
  // without a duration) to the time it went down: it is shown down until
  // a stats event at least restartShownMs later, unless the feed says
  // otherwise first. Samples (once a second) may never catch such a node
  // down, yet it did go down: its connections were cut.
  restarting: Record<string, number>;
}

// Bounds on what the page keeps: about 15 minutes of once-a-second stats,
// and the log lines a person can still scroll through.
export const statsLenMax = 900;
export const faultsLenMax = 500;
export const logLenMax = 500;

export const emptyFeed: FeedState = {
  run: null,
  topology: null,
  components: {},
  stats: [],
  faults: [],
  checks: {},
  log: [],
  restarting: {},
};

// restartShownMs is the least time an instant restart is shown as down,
// so that a person watching (or a screenshot) can see it.
export const restartShownMs = 1000;

// Faults that take their target down and bring it back.
const restartActions = ['restart', 'balancer-restart', 'redis-restart'];

function bounded<T>(items: T[], item: T, max: number): T[] {
  const next = items.length >= max ? items.slice(items.length - max + 1) : items.slice();
  next.push(item);
  return next;
}

// nowMs is the latest time the feed has spoken of: log lines without a
// time of their own (the run's) are placed there.
export function nowMs(state: FeedState): number {
  const lastStats = state.stats.at(-1)?.t_ms ?? 0;
  const lastLog = state.log.at(-1)?.t_ms ?? 0;
  return Math.max(lastStats, lastLog);
}

// goesDown shows an instantly restarted component down (see restarting).
function goesDown(state: FeedState, name: string, atMs: number): FeedState {
  const component = { ...state.components[name], t_ms: atMs, state: 'down' as const };
  return {
    ...state,
    components: { ...state.components, [name]: component },
    restarting: { ...state.restarting, [name]: atMs },
    log: bounded(state.log, { t_ms: atMs, text: `${name} is down (restarting)`, kind: 'component' }, logLenMax),
  };
}

// backFromRestarts brings instantly restarted components back up once
// they have been shown down for restartShownMs.
function backFromRestarts(state: FeedState, nowMs: number): FeedState {
  const back = Object.keys(state.restarting).filter((name) => nowMs - state.restarting[name] >= restartShownMs);
  if (back.length === 0) {
    return state;
  }
  const components = { ...state.components };
  const restarting = { ...state.restarting };
  let log = state.log;
  for (const name of back.sort()) {
    components[name] = { ...components[name], t_ms: nowMs, state: 'up' };
    delete restarting[name];
    log = bounded(log, { t_ms: nowMs, text: `${name} is up (restarted)`, kind: 'component' }, logLenMax);
  }
  return { ...state, components, restarting, log };
}

function sameComponentState(a: Component, b: Component): boolean {
  const cutA = a.partitioned_from ?? [];
  const cutB = b.partitioned_from ?? [];
  return a.state === b.state && cutA.length === cutB.length && cutA.every((name, i) => name === cutB[i]);
}

// applyEvent is the feed's reducer: pure, one event at a time.
export function applyEvent(state: FeedState, event: FeedEvent): FeedState {
  switch (event.kind) {
    case 'run': {
      const run = event.data;
      if (run.state === 'running') {
        // A new run: the last one's picture no longer applies.
        return { ...emptyFeed, run };
      }
      const text = `run ${run.state}${run.verdict ? `: ${run.verdict}` : ''}`;
      return { ...state, run, log: bounded(state.log, { t_ms: run.t_ms ?? nowMs(state), text, kind: 'run' }, logLenMax) };
    }
    case 'topology':
      return { ...state, topology: event.data };
    case 'component': {
      const component = event.data;
      const components = { ...state.components, [component.name]: component };
      const { [component.name]: _, ...restarting } = state.restarting;
      state = { ...state, restarting };
      const previous = state.components[component.name];
      if (previous && sameComponentState(previous, component)) {
        return { ...state, components };
      }
      const cut = component.partitioned_from ?? [];
      const text = `${component.name} is ${component.state}` + (cut.length ? `, cut off from ${cut.join(' and ')}` : '');
      return { ...state, components, log: bounded(state.log, { t_ms: component.t_ms, text, kind: 'component' }, logLenMax) };
    }
    case 'stats':
      return backFromRestarts({ ...state, stats: bounded(state.stats, event.data, statsLenMax) }, event.data.t_ms);
    case 'fault': {
      const fault = event.data;
      const text = `fault: ${fault.action}${fault.target ? ` ${fault.target}` : ''}` +
        (fault.duration_ms ? ` for ${fault.duration_ms / 1000}s` : '');
      const next: FeedState = {
        ...state,
        faults: bounded(state.faults, fault, faultsLenMax),
        log: bounded(state.log, { t_ms: fault.at_ms, text, kind: 'fault' }, logLenMax),
      };
      const target = fault.target || (fault.action === 'redis-restart' ? 'redis' : fault.action === 'balancer-restart' ? 'balancer' : '');
      if (!restartActions.includes(fault.action) || fault.duration_ms || !state.components[target]) {
        return next;
      }
      return goesDown(next, target, fault.at_ms);
    }
    case 'check': {
      const check = event.data;
      const previous = state.checks[check.name];
      const checks = { ...state.checks, [check.name]: check };
      if (previous && previous.ok && !check.ok) {
        const text = `check ${check.name} failed: ${check.violations} violation(s)`;
        return { ...state, checks, log: bounded(state.log, { t_ms: nowMs(state), text, kind: 'check' }, logLenMax) };
      }
      return { ...state, checks };
    }
    case 'log':
      return { ...state, log: bounded(state.log, { ...event.data, kind: 'log' }, logLenMax) };
  }
}
