package server

import (
	"context"
	"errors"
	"time"

	"chatlab/system/broker"
	"chatlab/system/node"
)

// Broker call limits.
const (
	// brokerCallsInFlightMax bounds publish and fetch goroutines at once.
	brokerCallsInFlightMax = 256
	// brokerCallsPendingMax bounds calls waiting for a slot or for their
	// room's subscribe; beyond it a
	// call fails at once with errBrokerBusy, which the node handles like
	// any broker error (the client retries with the same id).
	brokerCallsPendingMax = 4096
	// brokerCallTimeout bounds one publish, fetch, subscribe or unsubscribe.
	brokerCallTimeout = 5 * time.Second
)

var errBrokerBusy = errors.New("broker calls queue is full")

// brokerCall is one publish or fetch: run performs it on its own goroutine
// and returns the input that reports the result; fail reports an error
// without performing it.
type brokerCall struct {
	// room is the call's room: it starts only once the room's pending
	// subscribes are confirmed, so that nothing published between its
	// reply and the subscription is missed (broker.Broker's contract).
	room string
	run  func(ctx context.Context, b broker.Broker) input
	fail func(err error) input
}

func publishCall(request node.PublishRequest) brokerCall {
	return brokerCall{
		room: request.Room,
		run: func(ctx context.Context, b broker.Broker) input {
			reply, err := b.Publish(ctx, request)
			return func(l *loop) {
				l.logCallError("publish", request.Room, err)
				l.node.Published(request.Request, reply, err)
			}
		},
		fail: func(err error) input {
			return func(l *loop) { l.node.Published(request.Request, node.PublishReply{}, err) }
		},
	}
}

func fetchCall(request node.FetchRequest) brokerCall {
	return brokerCall{
		room: request.Room,
		run: func(ctx context.Context, b broker.Broker) input {
			reply, err := b.Fetch(ctx, request)
			return func(l *loop) {
				l.logCallError("fetch", request.Room, err)
				l.node.Fetched(request.Request, reply, err)
			}
		},
		fail: func(err error) input {
			return func(l *loop) { l.node.Fetched(request.Request, node.FetchReply{}, err) }
		},
	}
}

// logCallError notes a failed call; the node decides what it means (an
// unavailable error to the client, a retry).
func (l *loop) logCallError(call, room string, err error) {
	if err != nil {
		l.server.log.Debug("broker call failed", "call", call, "room", room, "err", err)
	}
}

// call queues a broker call and starts what the in-flight limit allows.
// The node hands over at most one publish of a sender in a room at a time,
// so that its messages take seqs in the order it sent them.
func (l *loop) call(call brokerCall) {
	if l.callsPending >= brokerCallsPendingMax {
		// Reported from a goroutine: the loop must never block on its own
		// input channel.
		l.server.goroutines.Go(func() { l.submit(call.fail(errBrokerBusy)) })
		return
	}
	l.callsPending++
	if l.subscribesPending[call.room] > 0 {
		l.callsAfterSubscribe[call.room] = append(l.callsAfterSubscribe[call.room], call)
		return
	}
	l.calls = append(l.calls, call)
	l.startCalls()
}

func (l *loop) startCalls() {
	for l.callsInFlight < brokerCallsInFlightMax && len(l.calls) > 0 {
		call := l.calls[0]
		l.calls[0] = brokerCall{}
		l.calls = l.calls[1:]
		l.callsPending--
		l.callsInFlight++
		l.server.goroutines.Go(func() {
			ctx, cancel := context.WithTimeout(l.server.ctx, brokerCallTimeout)
			result := call.run(ctx, l.broker)
			cancel()
			l.submit(func(l *loop) {
				l.callsInFlight--
				result(l)
				l.startCalls()
			})
		})
	}
}
