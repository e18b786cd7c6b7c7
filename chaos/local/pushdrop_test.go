package local

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"
)

// respFrame is one top-level frame of a stream Redis could send a node,
// and whether it is a pub/sub message push.
type respFrame struct {
	text string
	push bool
}

var respFrames = []respFrame{
	{"+OK\r\n", false},
	{"-ERR no such key\r\n", false},
	{":42\r\n", false},
	{"$5\r\nhello\r\n", false},
	{"$-1\r\n", false},
	{"$0\r\n\r\n", false},
	{"*0\r\n", false},
	{"*-1\r\n", false},
	{"*3\r\n$9\r\nsubscribe\r\n$6\r\nroom-1\r\n:1\r\n", false},
	{"*3\r\n$7\r\nmessage\r\n$6\r\nroom-1\r\n$12\r\n{\"seq\":1}\r\nx\r\n", true},
	// XRANGE-like: arrays in arrays, a payload that holds a push's bytes.
	{"*2\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nm\r\n$17\r\n*3\r\n$7\r\nmessage\r\n\r\n*1\r\n*0\r\n", false},
	{"*3\r\n$7\r\nmessage\r\n$6\r\nroom-2\r\n$0\r\n\r\n", true},
	{"*3\r\n$7\r\nmessagf\r\n$6\r\nroom-2\r\n$1\r\nx\r\n", false},
	{"*1\r\n$4\r\nPONG\r\n", false},
	{"*3\r\n$7\r\nmessage\r\n$6\r\nroom-3\r\n$300\r\n" + string(bytes.Repeat([]byte("p"), 300)) + "\r\n", true},
}

// filterInChunks feeds stream through a new filter in chunks of size
// bytes.
func filterInChunks(stream string, size int, drop func() bool) (string, int) {
	f := &pushFilter{drop: drop}
	var out []byte
	for i := 0; i < len(stream); i += size {
		out = append(out, f.filter([]byte(stream[i:min(i+size, len(stream))]))...)
	}
	return string(out), f.dropped
}

// The filter leaves out exactly the pushes it is told to drop, whole,
// however the stream is cut into reads, and passes every other frame byte
// for byte.
func TestPushFilterDropsWholePushesOnly(t *testing.T) {
	var stream, kept string
	pushes := 0
	for _, frame := range respFrames {
		stream += frame.text
		if frame.push {
			pushes++
		} else {
			kept += frame.text
		}
	}
	for size := 1; size <= len(stream); size++ {
		if out, dropped := filterInChunks(stream, size, func() bool { return true }); out != kept || dropped != pushes {
			t.Fatalf("chunks of %d, dropping every push: %d dropped, got\n%q\nwant\n%q", size, dropped, out, kept)
		}
		if out, dropped := filterInChunks(stream, size, func() bool { return false }); out != stream || dropped != 0 {
			t.Fatalf("chunks of %d, dropping none: %d dropped, got\n%q\nwant the stream unchanged", size, dropped, out)
		}
	}
	// Every other frame asked: the decision is the frame's own.
	var want string
	asked := 0
	for _, frame := range respFrames {
		asked++
		if !frame.push || asked%2 == 0 {
			want += frame.text
		}
	}
	asked = 0
	if out, _ := filterInChunks(stream, 7, func() bool { asked++; return asked%2 == 1 }); out != want {
		t.Fatalf("dropping the pushes that begin an odd frame: got\n%q\nwant\n%q", out, want)
	}
}

// A stream that is not RESP2 passes untouched from where it stops being.
func TestPushFilterPassesWhatIsNotRESP(t *testing.T) {
	stream := "+OK\r\n" + "hello there\r\n" + respFrames[9].text
	if out, _ := filterInChunks(stream, 3, func() bool { return true }); out != stream {
		t.Fatalf("got %q, want the stream unchanged", out)
	}
}

// Through a proxy in front of Redis, DropPushes loses a subscriber's
// messages while its connection stays up and answers; at 0 they come
// again.
func TestDropPushesLosesMessagesOnALiveConnection(t *testing.T) {
	server := miniredis.RunT(t)
	proxy, err := NewFaultProxy(server.Addr(), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	proxy.FilterPushes()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	subscriber := goredis.NewClient(&goredis.Options{Addr: proxy.Addr(), Protocol: 2, DisableIdentity: true})
	defer subscriber.Close()
	publisher := goredis.NewClient(&goredis.Options{Addr: server.Addr(), Protocol: 2, DisableIdentity: true})
	defer publisher.Close()
	pubsub := subscriber.Subscribe(ctx, "room")
	defer pubsub.Close()
	if _, err := pubsub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	proxy.DropPushes(100)
	for i := range 5 {
		if err := publisher.Publish(ctx, "room", i).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// The pong comes after the five pushes on the same connection: had
	// any passed, it would come first.
	if err := pubsub.Ping(ctx, "after"); err != nil {
		t.Fatal(err)
	}
	reply, err := pubsub.Receive(ctx)
	if pong, ok := reply.(*goredis.Pong); err != nil || !ok || pong.Payload != "after" {
		t.Fatalf("first reply after five dropped pushes: %#v, %v; want the pong", reply, err)
	}
	if got := proxy.PushesDropped(); got != 5 {
		t.Fatalf("%d pushes dropped, want 5", got)
	}
	proxy.DropPushes(0)
	if err := publisher.Publish(ctx, "room", "kept").Err(); err != nil {
		t.Fatal(err)
	}
	reply, err = pubsub.Receive(ctx)
	if message, ok := reply.(*goredis.Message); err != nil || !ok || message.Payload != "kept" {
		t.Fatalf("after DropPushes(0): %#v, %v; want the message", reply, err)
	}
}
