import type { FeedState } from '../feed';
import { seconds } from '../format';

// EventLog lists what happened, newest first by the time it happened: a
// browser that connects late is sent each component's latest state after
// older faults and logs, and the list must not show them in that order.
export function EventLog({ feed }: { feed: FeedState }) {
  const lines = feed.log
    .map((line, arrival) => ({ line, arrival }))
    .sort((a, b) => b.line.t_ms - a.line.t_ms || b.arrival - a.arrival)
    .map(({ line }) => line);
  return (
    <section className="panel log">
      <h2>Events</h2>
      {lines.length === 0 ? (
        <p className="muted">Nothing has happened yet.</p>
      ) : (
        <ol data-testid="event-log">
          {lines.map((line, i) => (
            <li key={lines.length - i} className={line.kind}>
              <time>{seconds(line.t_ms)}</time> {line.text}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
