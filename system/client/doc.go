// Package client is the chat client as a pure state machine: it chooses send
// ids and retries unacked sends with the same id, dedupes deliveries by seq,
// resumes every room with since after a reconnect, and redials with backoff.
// The deterministic simulator (sim/) and the real load generator (loadgen/)
// run it unchanged, so its API is a contract.
//
// The client does no I/O. Its host owns the transport and the clock and
// follows one loop:
//
//	c := client.New(cfg)
//	for each input (a frame, the transport coming up or going down, a timer):
//		c.Tick(nowMs)          // first, so that events carry the current time
//		c.Receive(frame)       // or Connected, Disconnected, DialFailed, Send, Join, Leave
//		rd := c.Ready()
//		if rd.Dial  { dial (with a fresh token if rd.FreshToken); later call Connected() or DialFailed() }
//		write rd.Frames in order (do not modify them)
//		if rd.Close { close the transport; later call Disconnected(code) }
//		record rd.Events
//		wake up at c.Deadline() to call Tick and Ready again
//
// A new client wants to be connected: its first Ready asks to dial. The host
// must report the outcome of every dial (Connected or DialFailed) and the end
// of every connection (Disconnected), and must call Ready after each input;
// breaking that order is a programmer error and panics.
//
// Delivery (docs/DESIGN.md "Delivery: what must survive"):
//   - A send gets the id Name + "-" + counter and stays pending until its ack.
//     It is resent with the same id after ResendAfterMs without an answer, after
//     an unavailable or rate_limited error, and on every reconnect; it fails
//     (SendFailed) after SendAttemptsMax transmissions or a permanent error.
//     A failed send that was transmitted may still have been applied.
//     After an unavailable or rate_limited error no later send of that room
//     goes out until the refused one is resent, and a send resent for want
//     of an answer takes the later unanswered sends of its room along, right
//     behind it: the last time each of a room's sends went out is in the
//     order they were made, so they take seqs in that order.
//   - Each joined room keeps the last seq seen and its epoch. A msg at or below
//     the last seq is a duplicate: it is reported (Delivered with Duplicate)
//     but not counted as delivered. A msg ahead of last+1 is delivered as it
//     is; gap fill is the node's job and gaps are the checker's to find. Seq 0
//     is pubsub delivery: no tracking.
//   - Each join carries a ref (j1, j2, … over the client's life) that its
//     joined echoes. Only the joined of the join sent last for a room starts
//     its membership: the joined of a join the app left and made again
//     before the answer came, and the old membership's msg and reset frames
//     that reach the client before the new joined, are strays (counted,
//     dropped).
//   - After a reconnect every room is joined again with since = last seq seen
//     and the epoch it belongs to, so the node replays what was missed; a
//     reset says what is gone.
//   - A room the app leaves is forgotten but for where it stood (its last
//     seq and epoch; the last leftRoomsMax rooms left are remembered). Joined
//     again, it starts from the joined head, or from where it stood if that
//     is higher in the same epoch: a node whose view of the room lags (cut
//     off from Redis, or its pub/sub behind the node the app left) answers
//     with a head below seqs the app already had, then sends them; they are
//     reported as duplicates, not passed on twice. The join itself carries
//     no since: what was sent while the app was away is not replayed.
//
// Reconnects: a close with protocol.CloseReconnect after a welcome (the node
// shed us: slow consumer, drain, rebalance), or a draining node, is redialed
// after a short jittered delay; any other loss backs off exponentially with
// full jitter, capped at BackoffMaxMs, until a connection gets a welcome. A
// close with protocol.CloseTokenExpired is redialed after the same short
// delay, and that dial's Ready sets FreshToken: the host takes a new token
// from its token source before dialing. The rooms resume with since, so
// nothing is lost across the refresh.
//
// The client never reads the wall clock, takes randomness only from
// Config.Random, starts no goroutines and lists rooms in name order and
// pending sends in id order, so one seed gives one run.
package client
