import { useEffect, useRef, useState } from 'react';
import { openChat, relayURL, type ChatClient, type ChatView } from '../chat';

const room = 'lobby';
// The first client's user, then the names the second client tries: a new
// name each time, so that a hash-user balancer places it anew too.
const firstUser = 'alice';
const secondUsers = ['bob', 'carol', 'dave', 'erin', 'frank'];
// retryCloseDelayMs is how long a misplaced second client stays open
// while the next one connects.
const retryCloseDelayMs = 1000;

interface Props {
  relayPath: string;
  // nodes is how many nodes there are: with more than one, the second
  // client reconnects until it lands on another node than the first.
  nodes: number;
}

function ChatBox({ view, client }: { view: ChatView | null; client: ChatClient | null }) {
  const [draft, setDraft] = useState('');
  if (!view) {
    return <div className="chat-box muted">connecting…</div>;
  }
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    if (client && draft.trim()) {
      client.send(draft.trim());
      setDraft('');
    }
  };
  return (
    <div className="chat-box" data-testid={`chat-${view.user}`}>
      <h3>
        {view.user} <span className="muted">on</span>{' '}
        <span data-testid={`chat-node-${view.user}`}>{view.node ?? '…'}</span>
        <span className={`chat-status ${view.status}`}>{view.status}</span>
      </h3>
      <ol className="messages" data-testid={`chat-messages-${view.user}`}>
        {view.messages.map((message) => (
          <li key={message.seq}>
            <span className="seq">#{message.seq}</span> <b>{message.from}</b>: {message.body}
          </li>
        ))}
      </ol>
      {view.problem && <p className="problem">{view.problem}</p>}
      <form onSubmit={submit}>
        <input
          aria-label={`message from ${view.user}`}
          value={draft}
          onChange={(event) => setDraft(event.target.value)}
          disabled={view.status !== 'joined'}
        />
        <button type="submit" disabled={view.status !== 'joined'}>
          Send
        </button>
      </form>
    </div>
  );
}

// ChatPane opens two chat clients through the balancer into one room, so
// that a message sent in one can be seen arriving in the other, on
// another node.
export function ChatPane({ relayPath, nodes }: Props) {
  const [first, setFirst] = useState<ChatView | null>(null);
  const [second, setSecond] = useState<ChatView | null>(null);
  const clients = useRef<{ first: ChatClient | null; second: ChatClient | null }>({ first: null, second: null });
  const firstNode = first?.node ?? null;

  useEffect(() => {
    const url = relayURL(relayPath, window.location);
    const client = openChat(url, firstUser, room, setFirst);
    clients.current.first = client;
    return () => client.close();
  }, [relayPath]);

  useEffect(() => {
    if (!firstNode) {
      return;
    }
    const url = relayURL(relayPath, window.location);
    let stopped = false;
    let chosen: ChatClient | null = null;
    const opened: ChatClient[] = [];
    const attempt = (index: number) => {
      let placed = false;
      const client = openChat(url, secondUsers[index], room, (view) => {
        if (stopped) {
          return;
        }
        if (!placed && view.node) {
          placed = true;
          const triesLeft = index + 1 < secondUsers.length;
          if (view.node === firstNode && nodes > 1 && triesLeft) {
            // Same node as the first client: try again, keeping this one
            // open a moment so that the balancer counts it.
            attempt(index + 1);
            window.setTimeout(() => client.close(), retryCloseDelayMs);
            return;
          }
          chosen = client;
          clients.current.second = client;
        }
        if (!placed || chosen === client) {
          setSecond(view);
        }
      });
      opened.push(client);
    };
    attempt(0);
    return () => {
      stopped = true;
      opened.forEach((client) => client.close());
    };
  }, [relayPath, firstNode, nodes]);

  return (
    <section className="panel chat">
      <h2>Chat through the balancer · room “{room}”</h2>
      <div className="chat-boxes">
        <ChatBox view={first} client={clients.current.first} />
        <ChatBox view={second} client={clients.current.second} />
      </div>
    </section>
  );
}
