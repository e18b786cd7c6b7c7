package server

import "context"

// subscriptionOp is one subscribe or unsubscribe, kept in the order the
// node asked for them: a join then a leave of the same room must reach the
// broker in that order.
type subscriptionOp struct {
	room      string
	subscribe bool
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
		}
		l.submit(func(l *loop) {
			l.subscribing = false
			l.startSubscriber()
		})
	})
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
