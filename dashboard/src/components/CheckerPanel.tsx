import type { Check, FeedState } from '../feed';

// CheckerPanel shows each checker's running verdict and, once the run is
// done, the run's.
export function CheckerPanel({ feed }: { feed: FeedState }) {
  const checks = Object.values(feed.checks).sort((a, b) => a.name.localeCompare(b.name));
  const run = feed.run;
  return (
    <section className="panel checks">
      <h2>Checks</h2>
      {run?.state === 'done' && run.verdict && (
        <p className={`verdict ${run.verdict}`} data-testid="run-verdict">
          Run {run.verdict === 'pass' ? 'passed' : 'failed'}
        </p>
      )}
      {checks.length === 0 ? (
        <p className="muted">No checker has reported yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>check</th>
              <th>verdict</th>
              <th>violations</th>
              <th>detail</th>
            </tr>
          </thead>
          <tbody>
            {checks.map((check) => (
              <tr key={check.name} className={verdictClass(check)} data-testid={`check-${check.name}`}>
                <td>{check.name}</td>
                <td>{check.pending ? '… pending' : check.ok ? '✓ holds' : '✗ violated'}</td>
                <td>{check.pending ? '' : check.violations}</td>
                <td>{check.detail ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function verdictClass(check: Check): string {
  if (check.pending) {
    return 'pending';
  }
  return check.ok ? 'ok' : 'failed';
}
