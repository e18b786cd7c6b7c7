package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gorilla/websocket"

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
// rooms cannot fill it. The first message of a room keeps its epoch.
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
		kept := strings.Contains(key, "{lobby}") && !strings.Contains(key, ":dedupe")
		switch ttl := m.TTL(key); {
		case kept && ttl != 0:
			t.Errorf("%s expires in %s: a room with a message keeps its keys", key, ttl)
		case !kept && ttl == 0:
			t.Errorf("%s is permanent", key)
		}
	}
}

// One user cannot open every socket of the node, nor can one address when
// a per-address cap is set; a closed connection frees its place.
func TestConnectionCapsPerUserAndPerAddress(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", func(cfg *Config) { cfg.ConnectionsPerUserMax, cfg.ConnectionsPerIPMax = 2, 3 })
	first := dial(t, srv, "token="+token(t, "mallory"))
	dial(t, srv, "token="+token(t, "mallory"))
	if status, body := dialStatus(t, srv, "token="+token(t, "mallory"), nil); status != http.StatusTooManyRequests ||
		!strings.Contains(body, `user "mallory" has 2 connections open`) {
		t.Fatalf("third connection of one user: %d %q", status, body)
	}
	dial(t, srv, "token="+token(t, "alice"))
	if status, body := dialStatus(t, srv, "token="+token(t, "bob"), nil); status != http.StatusTooManyRequests ||
		!strings.Contains(body, "3 connections are open from 127.0.0.1") {
		t.Fatalf("fourth connection from one address: %d %q", status, body)
	}
	first.ws.Close()
	deadline := time.Now().Add(testWait)
	for {
		ws, response, err := websocket.DefaultDialer.Dial("ws://"+srv.Addr()+"/ws?token="+token(t, "mallory"), nil)
		if err == nil {
			ws.Close()
			break
		}
		if response == nil || response.StatusCode != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("after a close: %v %v", response, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A send whose id was already used with another body is answered with a
// conflict, not acknowledged as if the new body had landed.
func TestAResentIDWithAnotherBodyIsAConflict(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", nil)
	alice := dial(t, srv, "token="+token(t, "alice"))
	alice.join("lobby")
	alice.write(protocol.Send{Type: protocol.TypeSend, Room: "lobby", ID: "1", Body: "hello"})
	first := alice.nextOf(protocol.TypeAck)
	alice.write(protocol.Send{Type: protocol.TypeSend, Room: "lobby", ID: "1", Body: "hello"})
	if again := alice.nextOf(protocol.TypeAck); again.Seq != first.Seq {
		t.Fatalf("a true retry was acked with seq %d, the first with %d", again.Seq, first.Seq)
	}
	alice.write(protocol.Send{Type: protocol.TypeSend, Room: "lobby", ID: "1", Body: "something else"})
	for {
		frame := alice.next()
		if frame.Type == protocol.TypeAck {
			t.Fatalf("the other body was acked: %+v", frame)
		}
		if frame.Type == protocol.TypeError {
			if frame.Code != protocol.CodeIDConflict || frame.Ref != "1" {
				t.Fatalf("error %+v, want %s for id 1", frame, protocol.CodeIDConflict)
			}
			break
		}
	}
}
