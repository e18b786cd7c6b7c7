package broker

import (
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"
)

// The link's bookkeeping, driven directly: what it tells the consumer for
// each thing a session reads. No Redis, no goroutines.

func stateLink(eventsLenMax int, rooms ...string) *link {
	l := &link{
		events:  make(chan Event, eventsLenMax),
		rooms:   make(map[string]struct{}),
		waiters: make(map[string][]chan error),
	}
	for _, room := range rooms {
		l.rooms[room] = struct{}{}
	}
	return l
}

// upLink is a link whose session is up and whose consumer was told so.
func upLink(t *testing.T, eventsLenMax int, rooms ...string) *link {
	l := stateLink(eventsLenMax, rooms...)
	l.up = true
	l.report()
	expectQueued(t, l, "up")
	return l
}

func expectQueued(t *testing.T, l *link, want ...string) {
	t.Helper()
	var got []string
	for len(l.events) > 0 {
		event := <-l.events
		switch {
		case event.Msg != nil:
			got = append(got, "msg "+event.Msg.ID)
		case event.Link == LinkDown && event.Err == nil:
			got = append(got, "down without a cause")
		default:
			got = append(got, event.Link.String())
		}
	}
	if len(got) != len(want) {
		t.Fatalf("events %q; want %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("events %q; want %q", got, want)
		}
	}
}

func message(room, id string) *redis.Message {
	return &redis.Message{Channel: channelOf(room),
		Payload: `{"type":"msg","room":"` + room + `","seq":1,"id":"` + id + `","from":"ann","body":"b","ts":1}`}
}

func TestUnaskedConfirmationMeansSilentReconnect(t *testing.T) {
	l := upLink(t, 8, "r")
	l.confirm(&redis.Subscription{Kind: "subscribe", Channel: channelOf("r")})
	l.report()
	expectQueued(t, l, "down", "up")
}

func TestAskedConfirmationReleasesOneWaiter(t *testing.T) {
	l := upLink(t, 8, "r")
	first, second := make(chan error, 1), make(chan error, 1)
	l.waiters[channelOf("r")] = []chan error{first, second}
	l.confirm(&redis.Subscription{Kind: "subscribe", Channel: channelOf("r")})
	if err := <-first; err != nil || len(second) != 0 {
		t.Fatalf("first waiter got %v, second holds %d; want nil and nothing", err, len(second))
	}
	l.confirm(&redis.Subscription{Kind: "unsubscribe", Channel: channelOf("r")})
	l.report()
	expectQueued(t, l)
}

func TestMessagesOfOtherRoomsAreIgnored(t *testing.T) {
	l := upLink(t, 8, "r")
	l.deliver(message("s", "x"))
	l.deliver(&redis.Message{Channel: "elsewhere", Payload: "{}"})
	l.deliver(message("r", "y"))
	expectQueued(t, l, "msg y")
}

func TestUndecodableMessageIsTreatedAsLost(t *testing.T) {
	l := upLink(t, 8, "r")
	l.deliver(&redis.Message{Channel: channelOf("r"), Payload: "not json"})
	// The catch-up pair goes first, as soon as there is room.
	l.deliver(message("r", "z"))
	expectQueued(t, l, "down", "up", "msg z")
	// A message naming another room than its channel is not delivered.
	l.deliver(&redis.Message{Channel: channelOf("r"), Payload: `{"type":"msg","room":"s","id":"w"}`})
	l.report()
	expectQueued(t, l, "down", "up")
}

func TestFullChannelOwesCatchUpBeforeMoreMessages(t *testing.T) {
	l := upLink(t, 3, "r")
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		l.deliver(message("r", id))
	}
	// Nothing fits: reporting is deferred, not blocking.
	l.report()
	expectQueued(t, l, "msg a", "msg b", "msg c")
	l.deliver(message("r", "f"))
	expectQueued(t, l, "down", "up", "msg f")
	l.deliver(message("r", "g"))
	expectQueued(t, l, "msg g")
}

func TestSessionLossWhileFullIsStillReported(t *testing.T) {
	l := upLink(t, 1, "r")
	l.deliver(message("r", "a"))
	// The session fails and a new one comes up before the consumer reads:
	// run marks the loss, and the new session's LinkUp must not hide it.
	l.owe(errors.New("session failed"))
	l.up = false
	l.report()
	l.up = true
	l.report()
	expectQueued(t, l, "msg a")
	l.report()
	expectQueued(t, l, "down")
	l.report()
	expectQueued(t, l, "up")
}

func TestWithdrawnSubscribeMakesItsConfirmationUnasked(t *testing.T) {
	l := upLink(t, 8, "r")
	gaveUp, waiting := make(chan error, 1), make(chan error, 1)
	l.waiters[channelOf("r")] = []chan error{gaveUp, waiting}
	l.withdraw(channelOf("r"), gaveUp)
	l.confirm(&redis.Subscription{Kind: "subscribe", Channel: channelOf("r")})
	if err := <-waiting; err != nil || len(gaveUp) != 0 {
		t.Fatalf("remaining waiter got %v; the withdrawn one holds %d; want nil and nothing", err, len(gaveUp))
	}
	l.withdraw(channelOf("r"), waiting) // already confirmed: nothing to do
	l.confirm(&redis.Subscription{Kind: "subscribe", Channel: channelOf("r")})
	l.report()
	expectQueued(t, l, "down", "up")
}
