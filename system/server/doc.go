// Package server is the real runtime of a chat node: it serves WebSocket
// clients with gorilla/websocket and runs one node.Node in one event-loop
// goroutine, linked to the cluster through a broker.Broker. It is the host
// system/node/doc.go describes; the simulator's NodeHost (sim/node_host.go)
// follows the same rules on virtual time.
//
// # Goroutines
//
// Every goroutine but the public HTTP server's and the socket poller's is
// started through Server.goroutines (group), or counted there (a
// connection's reads), so that Close waits for all of them and none starts
// once closing has begun.
//
//   - The event loop (loop.run), one per node: the only goroutine that
//     touches the node.Node and the loop's fields. It takes one input at a
//     time from loop.inputs (or a tick every tickInterval, 100 ms, which
//     calls node.Tick with the wall clock and advances the ping wheel),
//     then carries out node.Ready (loop.apply). Inputs already waiting go
//     next, each with its Ready, up to inputsPerWriteMax, before the
//     writers start (loop.startWriters): a loop that is behind hands each
//     connection the frames of several inputs in one write. It never
//     blocks on its own input channel: what must report back is handed to
//     a goroutine.
//   - The broker forwarder (loop.brokerEvents): turns broker.Events into
//     inputs (node.Message, BrokerUp on LinkUp, BrokerDown on LinkDown).
//   - A connection's reads (readwait.go), counted in Server.goroutines from
//     the upgrade until they end (group.enter, leave), though no goroutine
//     runs them while the connection is idle: its socket waits on the
//     process's socket poller (watchReads, socket.Poller), and each time it
//     becomes readable a short-lived goroutine takes the pongs at its head
//     on a shallow stack and reads the rest with gorilla, the read limit
//     and the pong deadline (readArrived), submits each frame as an input
//     and arms the wait again once the read buffer and the socket are
//     empty. gorilla's read path grows a stack to 8 KiB and a parked
//     goroutine keeps at least 2 KiB; an idle connection holds neither
//     (make bench-idle). Nothing blocks in a read while the socket waits,
//     so the loop keeps the read deadline itself (conn.readBy, expireReads
//     every tick) and shuts the socket's read side once it passes, which
//     wakes the wait. Where there is no poller, one reader goroutine per
//     connection waits on a shallow stack instead (loop.read). When the
//     socket ends the reads submit readerDone, which tells the node Closed.
//     A socket that must end while its reads wait (a failed write, Close)
//     is shut down, not closed: the reads wake to the end and close it.
//   - Short-lived writers (startWriter): at most one per connection at a
//     time, only while it has something to write. A writer takes a batch
//     (at most writeBatchFrames frames, then a due ping, then a close frame),
//     writes it under one deadline (the frames framed into one buffer and
//     written in one call: writeFrames) and reports writeDone, which tells
//     the node Flushed. An idle connection has no writer, so it holds no
//     goroutine and no write buffer.
//   - Broker calls (startCalls): one goroutine per publish or fetch in
//     flight, at most brokerCallsInFlightMax, each bounded by
//     brokerCallTimeout; the result comes back as an input (node.Published
//     or node.Fetched). A call refused because the queue is full is also
//     reported from a goroutine of its own.
//   - The subscriber (startSubscriber): at most one at a time; it runs the
//     queued Subscribe/Unsubscribe calls in order and reports each
//     confirmed subscribe, then its end, as inputs.
//   - HTTP: net/http's goroutines for the public port (/ws, /healthz,
//     /readyz; Server.serve) and system/admin's for the admin port (/state,
//     /metrics). A /state or /metrics request asks the loop for a snapshot
//     through an input and waits for the answer.
//
// # The loop's fields
//
//	server, node, broker  the owning Server, the state machine it drives, the broker it calls
//	inputs                functions run on the loop goroutine, bounded (inputsLenMax) so that
//	                      readers, writers and broker goroutines slow down when the loop lags
//	stop, done            stop asks run to return; done is closed once it has (submit gives up)
//	conns                 every connection the loop knows, by node.ConnID
//	dirty                 connections with something new to write since the writers last
//	                      started, each once, in order; startWriters starts one for each that
//	                      has none
//	pings                 the ping wheel: each tick marks one slot of connections for a ping, so
//	                      pings are spread over PingPeriod (9/10 of PongWait by default)
//	writeBatchFrames      the most frames one writer takes: at most 64 and a quarter of the
//	                      send queue limit, so Flushed reports arrive while a long queue drains
//	calls                 broker calls ready to start, waiting for an in-flight slot, oldest first
//	callsPending          calls not yet started (in calls or callsAfterSubscribe);
//	                      beyond brokerCallsPendingMax a call fails at once (errBrokerBusy)
//	callsInFlight         calls running on their goroutines
//	subscriptionOps       subscribe/unsubscribe changes waiting for the subscriber, in order
//	subscribing           a subscriber goroutine is running
//	subscribesPending     per room, subscribes not yet confirmed
//	callsAfterSubscribe   per room, the publishes and fetches held until its subscribes are
//	                      confirmed (broker.Broker's contract: nothing between a fetch's reply and
//	                      the subscription is missed)
//	draining, drained     Drain was called; drained is closed once the last connection is gone
//
// # Order of effects
//
// apply carries out one Ready in this order: frames are queued on their
// connections, closes are queued behind them (a drain flushes first),
// subscription changes are queued and the subscriber started, then
// publishes and fetches are queued (held behind their room's pending
// subscribes), delivery latencies are observed, and the Ready's lists go
// back to the node (Advance). Writers start for the dirty connections once
// no input is waiting, or after inputsPerWriteMax of them (startWriters).
// Nothing apply does feeds the node an input: every result comes back
// through inputs after it returns.
package server
