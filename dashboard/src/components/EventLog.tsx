import type { FeedState } from '../feed';
import { seconds } from '../format';

// EventLog lists what happened, newest first.
export function EventLog({ feed }: { feed: FeedState }) {
  const lines = feed.log.slice().reverse();
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
