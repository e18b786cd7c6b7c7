// A chat client for the chat pane: the protocol's frames (docs/DESIGN.md
// "Contracts") over the browser's WebSocket, through the dashboard's relay
// to the balancer.

export interface ChatMessage {
  seq: number;
  id: string;
  from: string;
  body: string;
}

export interface ChatView {
  user: string;
  node: string | null;
  status: 'connecting' | 'joined' | 'closed';
  messages: ChatMessage[];
  problem?: string;
}

// messagesLenMax bounds what a pane keeps per client.
export const messagesLenMax = 200;

export interface ChatClient {
  send(body: string): void;
  close(): void;
}

// openChat connects user, joins room and reports every change to onView.
export function openChat(url: string, user: string, room: string, onView: (view: ChatView) => void): ChatClient {
  let view: ChatView = { user, node: null, status: 'connecting', messages: [] };
  let sent = 0;
  const update = (change: Partial<ChatView>) => {
    view = { ...view, ...change };
    onView(view);
  };
  const socket = new WebSocket(`${url}?user=${encodeURIComponent(user)}`);
  socket.onopen = () => socket.send(JSON.stringify({ type: 'join', room }));
  socket.onmessage = (event: MessageEvent<string>) => {
    const frame = JSON.parse(event.data);
    switch (frame.type) {
      case 'welcome':
        update({ node: frame.node });
        break;
      case 'joined':
        update({ status: 'joined' });
        break;
      case 'msg': {
        const message = { seq: frame.seq, id: frame.id, from: frame.from, body: frame.body };
        update({ messages: [...view.messages, message].slice(-messagesLenMax) });
        break;
      }
      case 'error':
        update({ problem: `${frame.code}: ${frame.message}` });
        break;
    }
  };
  socket.onclose = (event: CloseEvent) => {
    update({ status: 'closed', problem: view.problem ?? `closed (${event.code}${event.reason ? `: ${event.reason}` : ''})` });
  };
  return {
    send(body: string) {
      sent += 1;
      const id = `${user}-${Date.now().toString(36)}-${sent}`;
      socket.send(JSON.stringify({ type: 'send', room, id, body }));
    },
    close() {
      socket.onclose = null;
      socket.close();
    },
  };
}

// relayURL turns the relay's path into a WebSocket URL on this page's host.
export function relayURL(path: string, location: Location): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}
