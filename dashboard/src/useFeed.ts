import { useEffect, useReducer, useState } from 'react';
import { applyEvent, emptyFeed, type FeedEvent, type FeedState } from './feed';

type Action = { kind: 'reset' } | FeedEvent;

function reduce(state: FeedState, action: Action): FeedState {
  return action.kind === 'reset' ? emptyFeed : applyEvent(state, action);
}

// useFeed follows /api/feed. EventSource reconnects by itself; each
// (re)connection starts with the server's replay, so the picture is
// rebuilt from scratch then.
export function useFeed(): { feed: FeedState; connected: boolean } {
  const [feed, dispatch] = useReducer(reduce, emptyFeed);
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    const source = new EventSource('/api/feed');
    source.onopen = () => {
      dispatch({ kind: 'reset' });
      setConnected(true);
    };
    source.onerror = () => setConnected(false);
    source.onmessage = (message: MessageEvent<string>) => dispatch(JSON.parse(message.data) as FeedEvent);
    return () => source.close();
  }, []);
  return { feed, connected };
}
