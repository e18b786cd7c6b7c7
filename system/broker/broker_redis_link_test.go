package broker

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

func subscribe(t testing.TB, broker *Redis, room string) {
	t.Helper()
	if err := broker.Subscribe(context.Background(), room); err != nil {
		t.Fatalf("subscribe %s: %v", room, err)
	}
}

func TestSubscriberReceivesMessages(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, b backend) {
		publisher := openBroker(t, testConfig(b.url))
		subscriber := openBroker(t, testConfig(b.url))
		subscribe(t, subscriber, "r")
		publish(t, publisher, "r", "ann", "x", "e1")
		publish(t, publisher, "other", "ann", "y", "e1")
		publish(t, publisher, "r", "bob", "z", "e1")
		if got := expectMsg(t, subscriber, "r", 1, "x"); got.Epoch != "e1" || got.From != "ann" || got.TS != 1700000000123 {
			t.Fatalf("delivered message = %+v; want epoch e1, from ann, ts kept", got)
		}
		expectMsg(t, subscriber, "r", 2, "z")
		expectNothingBefore(t, publisher, subscriber, "r")
	})
}

func TestConnectionDropIsFollowedByLinkUp(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, b backend) {
		publisher := openBroker(t, testConfig(b.url))
		subscriber := openBroker(t, testConfig(b.url))
		subscribe(t, subscriber, "r")
		subscribe(t, subscriber, "s")
		publish(t, publisher, "r", "ann", "before", "e1")
		expectMsg(t, subscriber, "r", 1, "before")

		b.dropConnections(t)
		expectLink(t, subscriber, LinkDown)
		expectLink(t, subscriber, LinkUp)
		// Both rooms are subscribed again, without the caller asking.
		publish(t, publisher, "r", "ann", "after", "e1")
		publish(t, publisher, "s", "ann", "after", "e1")
		expectMsg(t, subscriber, "r", 2, "after")
		expectMsg(t, subscriber, "s", 1, "after")
	})
}

func TestOutageIsReportedUntilRedisReturns(t *testing.T) {
	server := miniredis.RunT(t)
	broker := openBroker(t, testConfig("redis://"+server.Addr()))
	subscribe(t, broker, "r")

	server.Close()
	expectLink(t, broker, LinkDown)
	// While Redis is gone, the link stays down (no flapping: the next
	// event, checked below, is the LinkUp after Redis returns) and
	// requests fail rather than hang.
	if err := broker.Ping(context.Background()); err == nil {
		t.Fatal("ping during the outage: no error")
	}
	if err := broker.Subscribe(context.Background(), "s"); !errors.Is(err, ErrLinkDown) {
		t.Fatalf("subscribe during the outage = %v; want ErrLinkDown", err)
	}

	if err := server.Restart(); err != nil {
		t.Fatalf("restart miniredis: %v", err)
	}
	expectLink(t, broker, LinkUp)
	// "s", asked for during the outage, is held since this LinkUp.
	publish(t, broker, "s", "ann", "x", "e1")
	publish(t, broker, "r", "ann", "y", "e1")
	expectMsg(t, broker, "s", 1, "x")
	expectMsg(t, broker, "r", 1, "y")
}

func TestHalfOpenLinkIsDetected(t *testing.T) {
	server := miniredis.RunT(t)
	proxy := startBlackhole(t, server.Addr())
	publisher := openBroker(t, testConfig("redis://"+server.Addr()))
	subscriber := openBroker(t, testConfig("redis://"+proxy.addr()))
	subscribe(t, subscriber, "r")

	// Nothing is closed, nothing arrives: only the missing pongs tell.
	proxy.setPaused(true)
	expectLink(t, subscriber, LinkDown)
	publish(t, publisher, "r", "ann", "lost", "e1")
	proxy.setPaused(false)
	expectLink(t, subscriber, LinkUp)
	// The message published while the link was down never comes live:
	// that is what the LinkUp asks the consumer to fetch.
	publish(t, publisher, "r", "ann", "after", "e1")
	expectMsg(t, subscriber, "r", 2, "after")
}

func TestSlowConsumerIsToldToCatchUp(t *testing.T) {
	server := miniredis.RunT(t)
	cfg := testConfig("redis://" + server.Addr())
	cfg.EventsLenMax = 4
	publisher := openBroker(t, cfg)
	subscriber := openBroker(t, cfg)
	subscribe(t, subscriber, "r")

	// Nobody reads: the channel fills, the rest is dropped, and Redis is
	// never stalled (every publish returns).
	const sendsLen = 20
	for i := 1; i <= sendsLen; i++ {
		publish(t, publisher, "r", "ann", strconv.Itoa(i), "e1")
	}
	waitFull(t, subscriber, cfg.EventsLenMax)
	for seq := uint64(1); seq <= uint64(cfg.EventsLenMax); seq++ {
		expectMsg(t, subscriber, "r", seq, strconv.FormatUint(seq, 10))
	}
	if down := expectLink(t, subscriber, LinkDown); !errors.Is(down.Err, ErrConsumerSlow) {
		t.Fatalf("LinkDown of a slow consumer says %v; want ErrConsumerSlow", down.Err)
	}
	expectLink(t, subscriber, LinkUp)
	// After the LinkUp, messages the reader was still working through may
	// come, in order, then the next one.
	publish(t, publisher, "r", "ann", "next", "e1")
	previous := uint64(cfg.EventsLenMax)
	for previous != sendsLen+1 {
		event := nextEvent(t, subscriber)
		if event.Msg == nil || event.Msg.Seq <= previous {
			t.Fatalf("after the catch-up: %s; want messages after seq %d, up to %d", describe(event), previous, sendsLen+1)
		}
		previous = event.Msg.Seq
	}
}

// waitFull waits until the broker's events channel holds lenMax events.
func waitFull(t *testing.T, broker *Redis, lenMax int) {
	deadline := time.Now().Add(eventWait)
	for len(broker.Events()) < lenMax {
		if time.Now().After(deadline) {
			t.Fatalf("events channel holds %d; want %d", len(broker.Events()), lenMax)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestUnsubscribeStopsDelivery(t *testing.T) {
	onEveryBackend(t, func(t *testing.T, b backend) {
		broker := openBroker(t, testConfig(b.url))
		subscribe(t, broker, "r")
		subscribe(t, broker, "s")
		if err := broker.Unsubscribe(context.Background(), "r"); err != nil {
			t.Fatalf("unsubscribe: %v", err)
		}
		publish(t, broker, "r", "ann", "x", "e1")
		publish(t, broker, "s", "ann", "y", "e1")
		expectMsg(t, broker, "s", 1, "y")
		expectNothingBefore(t, broker, broker, "s")

		// Nor does a reconnect bring the room back.
		b.dropConnections(t)
		expectLink(t, broker, LinkDown)
		expectLink(t, broker, LinkUp)
		publish(t, broker, "r", "ann", "z", "e1")
		expectNothingBefore(t, broker, broker, "s")
	})
}

func TestCloseEndsEvents(t *testing.T) {
	server := miniredis.RunT(t)
	broker, err := NewRedis(testConfig("redis://" + server.Addr()))
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	expectLink(t, broker, LinkUp)
	subscribe(t, broker, "r")
	if err := broker.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	for event := range broker.Events() {
		t.Fatalf("event after close: %s", describe(event))
	}
	if err := broker.Subscribe(context.Background(), "r"); !errors.Is(err, ErrClosed) {
		t.Fatalf("subscribe after close = %v; want ErrClosed", err)
	}
	if err := broker.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}
