package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gorilla/websocket"

	"chatlab/system/broker"
	"chatlab/system/protocol"
)

// One connection floods joins and leaves of new rooms as fast as it can
// write, each join a broker call. Its frame allowance runs out, it is told
// to slow down, and since it does not it is closed with 4008; meanwhile
// another user's sends are all acknowledged.
func TestAJoinLeaveFloodIsClosedWith4008AndOthersKeepSending(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", nil)
	alice := dial(t, srv, "token="+token(t, "alice"))
	alice.join("lobby")
	flooder := dial(t, srv, "token="+token(t, "mallory"))

	closed := make(chan int, 1)
	go func() {
		code, _ := flooder.readClose()
		closed <- code
	}()
	wrote := make(chan int, 1)
	go func() {
		frames := 0
		// Bounded: far beyond what the node allows before it closes.
		for i := range 100_000 {
			room := fmt.Sprint("flood-", i)
			if flooder.ws.WriteMessage(websocket.TextMessage, protocol.Encode(protocol.Join{Type: protocol.TypeJoin, Room: room})) != nil ||
				flooder.ws.WriteMessage(websocket.TextMessage, protocol.Encode(protocol.Leave{Type: protocol.TypeLeave, Room: room})) != nil {
				break
			}
			frames += 2
		}
		wrote <- frames
	}()

	for i := range 20 {
		id := fmt.Sprint("alice-", i)
		alice.write(protocol.Send{Type: protocol.TypeSend, Room: "lobby", ID: id, Body: "still here"})
		if ack := alice.nextOf(protocol.TypeAck); ack.ID != id {
			t.Fatalf("ack %+v, want id %s", ack, id)
		}
	}
	if code := <-closed; code != protocol.ClosePolicy {
		t.Fatalf("the flooder was closed with %d, want %d", code, protocol.ClosePolicy)
	}
	frames := <-wrote
	t.Logf("the flooder wrote %d frames before the node closed it", frames)
	status, body := getAdmin(t, srv, "/metrics")
	if status != 200 || !strings.Contains(body, `chatlab_policy_closes_total{node="a"} 1`) {
		t.Fatalf("/metrics: %d, policy closes not counted", status)
	}
}

// Joins alone leave no permanent key in Redis: a flood of joins of new
// rooms cannot fill it. A room with a message keeps its keys for its idle
// time (a week by default), not the 600 s of an epoch a join named.
func TestJoinsLeaveNoPermanentRedisKeys(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", nil)
	alice := dial(t, srv, "token="+token(t, "alice"))
	for i := range 20 {
		room := fmt.Sprint("quiet-", i)
		alice.join(room)
		alice.write(protocol.Leave{Type: protocol.TypeLeave, Room: room})
	}
	alice.join("lobby")
	alice.write(protocol.Send{Type: protocol.TypeSend, Room: "lobby", ID: "1", Body: "hello"})
	alice.nextOf(protocol.TypeAck)
	for _, key := range m.Keys() {
		ttl := m.TTL(key)
		switch {
		case ttl == 0:
			t.Errorf("%s is permanent", key)
		case strings.Contains(key, "{lobby}") && !strings.Contains(key, ":dedupe") && ttl <= 600*time.Second:
			t.Errorf("%s expires in %s: a room with a message keeps its keys for its idle time", key, ttl)
		}
	}
}

// A room nobody writes to for the idle time is forgotten: its keys expire,
// none is left for ever.
func TestAnIdleRoomsKeysExpire(t *testing.T) {
	m := miniredis.RunT(t)
	b, err := broker.NewRedis(broker.RedisConfig{URL: "redis://" + m.Addr(), RoomIdleTTLSeconds: 60})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Start(context.Background(), Config{ID: "a", Listen: "127.0.0.1:0", Auth: true, Secret: testSecret, Logger: testLogger(), Broker: b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); b.Close() })
	waitStatus(t, srv, "/readyz", http.StatusOK)
	alice := dial(t, srv, "token="+token(t, "alice"))
	alice.join("lobby")
	alice.write(protocol.Send{Type: protocol.TypeSend, Room: "lobby", ID: "1", Body: "hello"})
	alice.nextOf(protocol.TypeAck)
	for _, key := range []string{"chatlab:{lobby}:seq", "chatlab:{lobby}:log", "chatlab:{lobby}:epoch"} {
		if ttl := m.TTL(key); ttl != 60*time.Second {
			t.Errorf("%s lasts %s after the last message, want 60s", key, ttl)
		}
	}
	m.FastForward(61 * time.Second)
	for _, key := range m.Keys() {
		if !strings.Contains(key, ":dedupe:") {
			t.Errorf("%s is left after the idle time", key)
		}
	}
}
