import { useEffect, useState } from 'react';
import { useFeed } from './useFeed';
import type { Run } from './feed';
import { ClusterMap } from './components/ClusterMap';
import { Charts } from './components/Charts';
import { CheckerPanel } from './components/CheckerPanel';
import { EventLog } from './components/EventLog';
import { ChatPane } from './components/ChatPane';
import { RunsView } from './components/RunsView';

function describeRun(run: Run | null): string {
  if (!run) {
    return 'waiting for a run or a cluster';
  }
  if (run.mode === 'watch') {
    return 'watching a running cluster';
  }
  const parts = [`${run.mode} run`, run.scenario, run.seed !== undefined ? `seed ${run.seed}` : '', run.delivery];
  parts.push(run.pace ? `pace ×${run.pace}` : 'full speed');
  parts.push(run.state === 'done' ? `done: ${run.verdict ?? ''}` : 'running');
  return parts.filter(Boolean).join(' · ');
}

// App is the dashboard: the live view of a run or a cluster, and past runs.
export function App() {
  const { feed, connected } = useFeed();
  const [tab, setTab] = useState<'live' | 'runs'>('live');
  const [relayPath, setRelayPath] = useState('');
  useEffect(() => {
    fetch('/api/chat')
      .then((response) => response.json())
      .then((info: { relay_path: string }) => setRelayPath(info.relay_path))
      .catch(() => setRelayPath(''));
  }, []);
  // The chat pane needs a real cluster: only when watching one.
  const chatShown = relayPath !== '' && feed.run?.mode === 'watch' && feed.topology !== null;
  return (
    <div className="app">
      <header>
        <h1>chatlab</h1>
        <nav>
          <button className={tab === 'live' ? 'active' : ''} onClick={() => setTab('live')}>
            Live
          </button>
          <button className={tab === 'runs' ? 'active' : ''} onClick={() => setTab('runs')}>
            Past runs
          </button>
        </nav>
        <p className="run" data-testid="run-summary">
          {describeRun(feed.run)}
        </p>
        <span className={`feed-status ${connected ? 'on' : 'off'}`}>{connected ? 'live' : 'reconnecting…'}</span>
      </header>
      {tab === 'live' ? (
        <main className={chatShown ? 'live' : 'live no-chat'}>
          <ClusterMap feed={feed} />
          <CheckerPanel feed={feed} />
          <Charts feed={feed} />
          <EventLog feed={feed} />
          {chatShown && <ChatPane relayPath={relayPath} nodes={feed.topology!.nodes.length} />}
        </main>
      ) : (
        <main>
          <RunsView />
        </main>
      )}
    </div>
  );
}
