import { useEffect, useState } from 'react';

// RunSummary mirrors dashboard.RunSummary (runs.go).
export interface RunSummary {
  id: string;
  scenario: string;
  target: string;
  seed: number;
  delivery: string;
  verdict: string;
  wall_ms: number;
  failed_checks: string[];
  faults: number;
  written: string;
  files: string[];
  problem?: string;
}

interface Report {
  checks?: Array<{ name: string; ok: boolean; violations: number; detail?: string }>;
  stats?: Record<string, unknown> & { latency_ms?: { p50: number; p99: number; max: number } };
  faults?: Array<{ at_ms: number; action: string; target?: string }>;
}

function RunDetail({ run }: { run: RunSummary }) {
  const [report, setReport] = useState<Report | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    setReport(null);
    setProblem(null);
    fetch(`/api/runs/${encodeURIComponent(run.id)}/report.json`)
      .then((response) => (response.ok ? response.json() : Promise.reject(new Error(response.statusText))))
      .then(setReport, (error: Error) => setProblem(error.message));
  }, [run.id]);
  const base = `/api/runs/${encodeURIComponent(run.id)}`;
  return (
    <div className="run-detail" data-testid="run-detail">
      <h3>
        {run.scenario} · seed {run.seed} · <span className={`verdict ${run.verdict}`}>{run.verdict}</span>
      </h3>
      <p>
        {run.files.includes('index.html') && (
          <a href={`${base}/index.html`} target="_blank" rel="noreferrer">
            open the full report
          </a>
        )}{' '}
        {run.files.map((file) => (
          <a key={file} className="file" href={`${base}/${file}`} target="_blank" rel="noreferrer">
            {file}
          </a>
        ))}
      </p>
      {problem && <p className="problem">report.json: {problem}</p>}
      {report?.checks && (
        <table>
          <tbody>
            {report.checks.map((check) => (
              <tr key={check.name} className={check.ok ? 'ok' : 'failed'}>
                <td>{check.name}</td>
                <td>{check.ok ? '✓' : '✗'}</td>
                <td>{check.violations}</td>
                <td>{check.detail ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {report?.stats && <pre className="stats">{JSON.stringify(report.stats, null, 2)}</pre>}
    </div>
  );
}

// RunsView lists reports/runs, newest first, and opens one.
export function RunsView() {
  const [runs, setRuns] = useState<RunSummary[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [open, setOpen] = useState<RunSummary | null>(null);
  useEffect(() => {
    fetch('/api/runs')
      .then((response) => (response.ok ? response.json() : Promise.reject(new Error(response.statusText))))
      .then(setRuns, (error: Error) => setProblem(error.message));
  }, []);
  if (problem) {
    return <p className="problem">Cannot list runs: {problem}</p>;
  }
  if (!runs) {
    return <p className="muted">Loading runs…</p>;
  }
  if (runs.length === 0) {
    return <p className="muted">No runs yet: `make chaos SCENARIO=node-restart` makes one.</p>;
  }
  return (
    <section className="panel runs">
      <h2>Past runs</h2>
      <table>
        <thead>
          <tr>
            <th>run</th>
            <th>scenario</th>
            <th>target</th>
            <th>seed</th>
            <th>delivery</th>
            <th>verdict</th>
            <th>failed checks</th>
            <th>wall</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id} className={open?.id === run.id ? 'selected' : ''} onClick={() => setOpen(run)}>
              <td>
                <button className="link-button" onClick={() => setOpen(run)}>
                  {run.id}
                </button>
              </td>
              <td>{run.scenario}</td>
              <td>{run.target}</td>
              <td>{run.seed}</td>
              <td>{run.delivery}</td>
              <td className={`verdict ${run.verdict}`}>{run.problem ? run.problem : run.verdict}</td>
              <td>{run.failed_checks.join(', ')}</td>
              <td>{(run.wall_ms / 1000).toFixed(1)}s</td>
            </tr>
          ))}
        </tbody>
      </table>
      {open && <RunDetail run={open} />}
    </section>
  );
}
