package server

import "context"

// subscriptionOp is one subscribe or unsubscribe, kept in the order the
// node asked for them: a join then a leave of the same room must reach the
// broker in that order.
type subscriptionOp struct {
	room      string
	subscribe bool
}

// queueSubscription notes a change the node asked for; calls of a room
// being subscribed wait for the subscribe (loop.call).
func (l *loop) queueSubscription(op subscriptionOp) {
	if op.subscribe {
		l.subscribesPending[op.room]++
	}
	l.subscriptionOps = append(l.subscriptionOps, op)
}

// startSubscriber hands every waiting subscription change to one goroutine,
// if none is running; the next batch starts when it reports back.
func (l *loop) startSubscriber() {
	if l.subscribing || len(l.subscriptionOps) == 0 {
		return
	}
	ops := l.subscriptionOps
	l.subscriptionOps = nil
	l.subscribing = l.server.goroutines.Go(func() {
		for _, op := range ops {
			l.subscription(op)
			if op.subscribe {
				l.submit(func(l *loop) { l.subscribed(op.room) })
			}
		}
		l.submit(func(l *loop) {
			l.subscribing = false
			l.startSubscriber()
		})
	})
}

// subscribed releases the calls that waited for a room's subscribe. A
// subscribe that failed releases them too: the link is down, the calls fail
// or succeed on their own, and the node catches up at the next LinkUp.
func (l *loop) subscribed(room string) {
	l.subscribesPending[room]--
	if l.subscribesPending[room] > 0 {
		return
	}
	delete(l.subscribesPending, room)
	waiting := l.callsAfterSubscribe[room]
	delete(l.callsAfterSubscribe, room)
	for _, call := range waiting {
		l.callsPending--
		l.call(call)
	}
}

// subscription runs one change on the subscriber goroutine. A failure means
// the link is in trouble: the broker reports LinkDown, and its LinkUp comes
// with subscriptions restored, so the error is only logged.
func (l *loop) subscription(op subscriptionOp) {
	ctx, cancel := context.WithTimeout(l.server.ctx, brokerCallTimeout)
	defer cancel()
	var err error
	if op.subscribe {
		err = l.broker.Subscribe(ctx, op.room)
	} else {
		err = l.broker.Unsubscribe(ctx, op.room)
	}
	if err != nil {
		l.server.log.Warn("subscription change failed", "room", op.room, "subscribe", op.subscribe, "err", err)
	}
}
