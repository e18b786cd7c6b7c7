package broker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"chatlab/system/broker/redisscript"
)

// reconnectDelayMin is the backoff after the first failed session; it
// doubles with each further failure up to linkTiming.reconnectDelayMax.
const reconnectDelayMin = 50 * time.Millisecond

type linkTiming struct {
	pingInterval      time.Duration
	linkTimeout       time.Duration
	reconnectDelayMax time.Duration
}

// link holds the subscriptions of every room on one pub/sub connection and
// turns what happens to that connection into Events.
//
// It runs sessions: a session is one connection on which every room is
// subscribed, then read until it fails. It is up once the pong to a PING
// sent after the SUBSCRIBE arrives, because Redis answers in order: every
// subscription is confirmed by then. It fails on any read error and when
// nothing, not even a pong to the PING sent every pingInterval, arrives for
// linkTimeout: that catches a half-open connection, which TCP alone reports
// only much later. A failed session is never reused; the next one starts on
// a new connection. go-redis would reconnect a PubSub by itself, silently,
// which is why the link reads with ReceiveTimeout rather than through
// ChannelWithSubscriptions: it must see every error and every pong.
type link struct {
	client *redis.Client
	timing linkTiming
	events chan Event

	mu      sync.Mutex
	rooms   map[string]struct{}     // rooms to hold, across sessions, until unsubscribed
	session *redis.PubSub           // the current session's connection; nil between sessions
	waiters map[string][]chan error // Subscribe calls awaiting confirmation, by channel, oldest first
	closed  bool

	stop chan struct{} // closed by close
	done chan struct{} // closed when run returns

	// Owned by the run goroutine, the only sender on events.
	up     bool  // the current session has every subscription confirmed
	toldUp bool  // the consumer's last link event was LinkUp
	owed   bool  // messages were lost since the consumer's LinkUp: it is owed LinkDown, then LinkUp
	cause  error // why the first of those messages was lost, for the LinkDown
}

func startLink(client *redis.Client, timing linkTiming, eventsLenMax int) *link {
	l := &link{
		client:  client,
		timing:  timing,
		events:  make(chan Event, eventsLenMax),
		rooms:   make(map[string]struct{}),
		waiters: make(map[string][]chan error),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go l.run()
	return l
}

func (l *link) run() { l.runSessions(l.serve, func() {}) }

// runSessions runs serve's sessions one after another, with a backoff, until
// the link is closed; failed runs after each failed session.
func (l *link) runSessions(serve func() (bool, error), failed func()) {
	defer close(l.done)
	defer close(l.events)
	delay := time.Duration(0)
	for {
		cameUp, err := serve()
		if cameUp {
			delay = reconnectDelayMin
		} else {
			delay = min(max(2*delay, reconnectDelayMin), l.timing.reconnectDelayMax)
		}
		select {
		case <-l.stop:
			// Closed: the consumer sees Events end, not a LinkDown.
			return
		default:
		}
		// Whatever was published since the session failed is gone.
		l.owe(err)
		l.up = false
		l.report()
		failed()
		timer := time.NewTimer(delay)
		select {
		case <-l.stop:
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// serve runs one session until it fails or the link is closed, and reports
// whether it came up and why it ended.
func (l *link) serve() (bool, error) {
	// Without channels this does no I/O: the connection is dialed by start.
	pubsub := l.client.Subscribe(context.Background())
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		_ = pubsub.Close() // never connected: nothing can fail that matters
		return false, ErrClosed
	}
	l.session = pubsub
	channels := make([]string, 0, len(l.rooms))
	for room := range l.rooms {
		channels = append(channels, channelOf(room))
	}
	l.mu.Unlock()
	slices.Sort(channels)

	pinging := make(chan struct{})
	var pinger sync.WaitGroup
	defer func() {
		l.end(pubsub)
		close(pinging)
		pinger.Wait()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), l.timing.linkTimeout)
	err := start(ctx, pubsub, channels)
	cancel()
	if err != nil {
		return false, fmt.Errorf("start session: %w", err)
	}
	pinger.Go(func() { l.ping(pubsub, pinging) })

	cameUp := false
	for {
		message, err := pubsub.ReceiveTimeout(context.Background(), l.timing.linkTimeout)
		if err != nil {
			return cameUp, fmt.Errorf("read session: %w", err)
		}
		switch message := message.(type) {
		case *redis.Pong:
			if !l.up {
				l.up, cameUp = true, true
			}
		case *redis.Subscription:
			l.confirm(message)
		case *redis.Message:
			l.deliver(message)
		}
		l.report()
	}
}

// start dials the session's connection, subscribes every room and sends the
// PING whose pong marks the session up.
func start(ctx context.Context, pubsub *redis.PubSub, channels []string) error {
	if len(channels) > 0 {
		if err := pubsub.Subscribe(ctx, channels...); err != nil {
			return fmt.Errorf("subscribe %d rooms: %w", len(channels), err)
		}
	}
	if err := pubsub.Ping(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// end closes a session and fails the Subscribe calls still waiting on it.
func (l *link) end(pubsub *redis.PubSub) {
	l.mu.Lock()
	l.session = nil
	waiters := l.waiters
	l.waiters = make(map[string][]chan error)
	l.mu.Unlock()
	for _, list := range waiters {
		for _, waiter := range list {
			waiter <- ErrLinkDown
		}
	}
	// The session is over whatever Close says: it fails only when the
	// connection already did, or when close got there first.
	_ = pubsub.Close()
}

func (l *link) ping(pubsub *redis.PubSub, stop <-chan struct{}) {
	ticker := time.NewTicker(l.timing.pingInterval)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ticker.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.timing.linkTimeout)
		// A failed ping needs no handling here: no pong comes back, and the
		// reader ends the session after linkTimeout of silence.
		_ = pubsub.Ping(ctx)
		cancel()
	}
}

// confirm hands a subscription's confirmation to the oldest Subscribe call
// waiting for it.
func (l *link) confirm(subscription *redis.Subscription) {
	if subscription.Kind != "subscribe" {
		return
	}
	l.mu.Lock()
	list := l.waiters[subscription.Channel]
	if len(list) > 0 {
		if len(list) == 1 {
			delete(l.waiters, subscription.Channel)
		} else {
			l.waiters[subscription.Channel] = list[1:]
		}
		l.mu.Unlock()
		list[0] <- nil
		return
	}
	l.mu.Unlock()
	if l.up {
		// Nobody asked for this subscription while the session was up:
		// go-redis reconnected and resubscribed by itself, and what was
		// published meanwhile is lost. (A Subscribe racing the start of a
		// session can cause a spurious one; catching up twice is harmless.)
		l.owe(fmt.Errorf("room channel %q resubscribed without being asked: a silent reconnect", subscription.Channel))
	}
}

// deliver passes a message on, or records that the consumer missed it.
func (l *link) deliver(message *redis.Message) {
	room, ok := strings.CutPrefix(message.Channel, channelPrefix)
	l.mu.Lock()
	_, subscribed := l.rooms[room]
	l.mu.Unlock()
	if !ok || !subscribed {
		// Still in flight when its room was unsubscribed.
		return
	}
	l.report()
	if !l.toldUp || l.owed {
		// The consumer catches up from history at its next LinkUp.
		return
	}
	msg, err := redisscript.Message(message.Channel, message.Payload)
	if err != nil {
		// Not what this broker publishes; if it stood for a message, that
		// message is lost here and history has it.
		l.owe(err)
		return
	}
	if !l.offer(Event{Msg: &msg}) {
		// The consumer is slow. Dropping keeps Redis reads going and memory
		// bounded; the LinkDown, LinkUp pair makes it catch up instead.
		l.owe(ErrConsumerSlow)
	}
}

// owe records that the consumer, if it was told the link is up, missed
// messages; a consumer told down catches up at its LinkUp anyway.
func (l *link) owe(cause error) {
	if !l.toldUp || l.owed {
		return
	}
	l.owed, l.cause = true, cause
}

// report brings the consumer's view of the link up to date as far as the
// events channel has room; it runs again on every read, at least once per
// pingInterval, so a full channel only delays it.
func (l *link) report() {
	if l.toldUp && l.owed {
		if !l.offer(Event{Link: LinkDown, Err: l.cause}) {
			return
		}
		l.toldUp, l.owed, l.cause = false, false, nil
	}
	if !l.toldUp && l.up && l.offer(Event{Link: LinkUp}) {
		l.toldUp = true
	}
}

func (l *link) offer(event Event) bool {
	select {
	case l.events <- event:
		return true
	default:
		return false
	}
}

func (l *link) subscribe(ctx context.Context, room string) error {
	channel := channelOf(room)
	confirmed := make(chan error, 1)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return fmt.Errorf("subscribe room %q: %w", room, ErrClosed)
	}
	l.rooms[room] = struct{}{}
	pubsub := l.session
	if pubsub == nil {
		l.mu.Unlock()
		return fmt.Errorf("subscribe room %q: %w", room, ErrLinkDown)
	}
	l.waiters[channel] = append(l.waiters[channel], confirmed)
	l.mu.Unlock()
	if err := pubsub.Subscribe(ctx, channel); err != nil {
		// The session fails with its connection and the next one
		// subscribes the room.
		l.withdraw(channel, confirmed)
		return fmt.Errorf("subscribe room %q: %w", room, err)
	}
	select {
	case err := <-confirmed:
		if err != nil {
			return fmt.Errorf("subscribe room %q: %w", room, err)
		}
		return nil
	case <-ctx.Done():
		l.withdraw(channel, confirmed)
		return fmt.Errorf("subscribe room %q: %w", room, ctx.Err())
	}
}

// withdraw removes the waiter of a Subscribe call that gave up. A
// confirmation that comes later then counts as unasked, which owes the
// consumer a catch-up: a caller that saw an error may rely on the next
// LinkUp, and go-redis may have resubscribed the room by itself, silently.
func (l *link) withdraw(channel string, waiter chan error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	list := l.waiters[channel]
	index := slices.Index(list, waiter)
	if index < 0 {
		// Already confirmed or released.
		return
	}
	list = slices.Delete(list, index, index+1)
	if len(list) == 0 {
		delete(l.waiters, channel)
	} else {
		l.waiters[channel] = list
	}
}

func (l *link) unsubscribe(ctx context.Context, room string) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return fmt.Errorf("unsubscribe room %q: %w", room, ErrClosed)
	}
	delete(l.rooms, room)
	pubsub := l.session
	l.mu.Unlock()
	if pubsub == nil {
		// The next session does not subscribe the room.
		return nil
	}
	if err := pubsub.Unsubscribe(ctx, channelOf(room)); err != nil {
		// Delivery has stopped anyway: deliver drops rooms not held, and
		// the failed connection takes the subscription with it.
		return fmt.Errorf("unsubscribe room %q: %w", room, err)
	}
	return nil
}

func (l *link) close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return
	}
	l.closed = true
	pubsub := l.session
	l.mu.Unlock()
	close(l.stop)
	if pubsub != nil {
		// Wakes the reader; serve's end closes it again, harmlessly.
		_ = pubsub.Close()
	}
	<-l.done
}
