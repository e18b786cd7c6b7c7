// Package node is the chat node as a pure state machine (docs/DESIGN.md,
// "The core is sans-IO"). The real runtime (system/server) and the
// simulator (sim/node_host.go) run it unchanged, so its API is a contract.
//
// The node does no I/O. It never reads a clock, draws randomness only from
// Config.Random, starts no goroutines and never lets map order reach its
// output: the same inputs give the same Ready, in production and in the
// simulator alike. Its host owns the sockets, the broker and the clock and
// follows one loop:
//
//	n := node.New(cfg)          // the broker link starts down
//	for each input:
//		n.Tick(nowMs)           // when time has passed (see Tick below)
//		n.Receive(conn, frame)  // or any one input below
//		rd := n.Ready()
//		carry out rd: Frames, Closes, Subscribes/Unsubscribes, Publishes, Fetches, LatenciesMs
//		n.Advance(rd)           // optional: the next Ready reuses rd's lists
//
// # Inputs
//
//	Open(conn, user)            a client connection was accepted for an authenticated user;
//	                            conn is chosen by the host and never reused while the node runs
//	                            (opening one twice panics). The node answers with a welcome, or,
//	                            while draining, closes it with 4000.
//	OpenAccess(conn, access)    the same, with what the connection's credentials allow (Access:
//	                            the rooms it may join); Open grants every room. A join of a
//	                            room not granted gets error forbidden.
//	Receive(conn, data)         one text frame from a client; binary frames are the host's to
//	                            refuse (error binary_frame). Over protocol.FrameBytesMax the node
//	                            closes with 1009; a malformed frame gets an error frame.
//	Closed(conn)                the connection is gone, from either side. Not needed for a close
//	                            the node asked for (it already forgot the connection), harmless if sent.
//	Flushed(conn, frames)       the host wrote that many of the node's frames to conn.
//	Drain()                     close every connection with 4000 and refuse new ones.
//	Message(msg)                a message arrived on a room subscription (broker.Event.Msg).
//	Published(req, reply, err)  the broker's answer to Ready().Publishes[i] (err: failed or timed out).
//	Fetched(req, reply, err)    the broker's answer to Ready().Fetches[i]; a failed fetch is retried
//	                            after Config.FetchRetryMs.
//	BrokerUp() / BrokerDown()   the broker link came up with every subscription confirmed / was lost.
//	                            Down longer than Config.BrokerLostGraceMs (a new node: from its
//	                            first Tick), the node closes every connection with 4000
//	                            (protocol.ReasonBrokerLost) and refuses new ones so until BrokerUp.
//	Tick(nowMs)                 the clock, in milliseconds from any fixed origin: it runs history
//	                            polls (Config.RoomPollIntervalMs), fetch retries and the
//	                            broker-lost grace, and rate limits refill by it.
//
// Snapshot, Counters, NowMs, Draining, BrokerIsUp and BrokerLost are reads, not inputs.
//
// # What the host must do
//
//   - Call Ready after every input and carry out all of it before the next
//     input. Ready hands over what the node produced and clears it; slow
//     consumers found during the input are closed (4000) in Ready itself.
//     Within each list the order is the node's and must be kept: frames to
//     one connection are written in order, a close comes after the frames
//     queued before it.
//   - Never feed an input while carrying out a Ready. A broker reply, a
//     failure to start a call, a write result: each comes back as a later
//     input, after the whole Ready is carried out (system/server submits
//     them to its loop from other goroutines; the simulator schedules them as
//     events: sim/node_calls.go failLater). Fed earlier, the node would act on
//     a subscription or a frame the host has not yet carried out.
//   - Report flushes. Every frame in Ready.Frames counts as unflushed on its
//     connection until Flushed says it was written. At
//     Config.SendQueueLenMax unflushed frames the connection is cut off as a
//     slow consumer (4000: reconnect and resume), and replay to a resuming
//     member pauses while half of that is unflushed and resumes on Flushed.
//     So report every written frame, promptly and per batch, only for frames
//     the node produced (not the host's own error frames) and not after the
//     connection is gone. Flushing more frames than were given panics.
//   - Apply a room's subscribe before that room's publishes and fetches. A
//     join puts the room in Subscribes and its fetch (or a send's publish)
//     in the same or a later Ready; the host holds the room's broker calls
//     until every pending subscribe of the room is confirmed, as the broker
//     contract requires (broker.Broker: a Fetch issued after Subscribe
//     returned cannot miss a message). Otherwise a message published between
//     the fetch's reply and the subscription is lost to every member here.
//     The node itself hands over at most one publish of a sender in a room
//     at a time (order.go), so the host may carry out publishes in any order.
//   - Call BrokerUp only when every room subscription is confirmed (the
//     broker's LinkUp in system/server; in the simulator, the PONG that
//     follows the session's SUBSCRIBEs). On BrokerUp every room fetches
//     what pub/sub lost meanwhile, so an early BrokerUp would leave a window
//     in which live messages are missed and never fetched. Call BrokerDown
//     when the link is lost: sends are refused (unavailable) until BrokerUp,
//     and polls stop. A new node starts down.
//   - Answer every publish and fetch request exactly once, with a reply or
//     an error (a timeout included). A request left unanswered keeps its
//     slot among the node's publishes in flight and its user's share of
//     broker calls (Config.BrokerCallsPerUserMax) forever. An answer to an
//     unknown request is ignored.
//   - Keep Tick monotonic: pass non-decreasing times. A time earlier than
//     the node's clock is ignored (the clock holds still), so a wall clock
//     stepping back cannot rewind it, but nothing due is run either. The
//     node stamps messages (msg.ts) and runs timers with the last Tick's
//     time: the simulator ticks before every input (NodeHost.advance) and
//     every 100 ms; system/server ticks every 100 ms, so there the clock
//     is at most one tick stale.
//
// # Delivery
//
// docs/DESIGN.md "Delivery: what must survive". In recover mode the node
// places each message by seq: the next one is delivered to local members,
// one ahead is held (at most pendingLenMax per room) and the gap fetched, one
// already delivered is dropped. A member resuming with since is replayed
// from the node's ring of the room's last Config.RecentLenMax messages or
// from a fetch, then gets joined; history gone below the stream's first seq,
// or an epoch that changed, is told with a reset. In pubsub mode messages
// are passed on as they come, with seq 0.
package node
