package broker_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"chatlab/system/broker"
	"chatlab/system/node"
	"chatlab/system/protocol"
	"chatlab/system/server"
)

// resumeWait bounds each read of the resume test: a hang fails.
const resumeWait = 30 * time.Second

// A client far behind the oldest message a room's stream still holds gets
// one reset to that message and then every message from there, on real
// Redis through the adapter and a node server: the room holds seqs
// 2001-12000 (stream length 10,000) and clients join with since 0 and 1000.
func TestResumeFarBelowTrimmedHistoryOnRedisServer(t *testing.T) {
	url := broker.RedisServerURL(t)
	const historyLenMax, published = 10000, 12000
	b, err := broker.NewRedis(broker.RedisConfig{URL: url, HistoryLenMax: historyLenMax})
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	fill(t, b, "r", published)

	srv, err := server.Start(context.Background(), server.Config{ID: "n1", Listen: "127.0.0.1:0", Broker: b,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() { srv.Close() })

	var clients []*websocket.Conn
	for i, since := range []uint64{0, 1000} {
		ws, _, err := websocket.DefaultDialer.Dial("ws://"+srv.Addr()+"/ws?user=u"+strconv.Itoa(i), nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { ws.Close() })
		clients = append(clients, ws)
		if frame := readFrame(t, ws); frame.Type != protocol.TypeWelcome {
			t.Fatalf("first frame %+v; want welcome", frame)
		}
		writeFrame(t, ws, protocol.Join{Type: protocol.TypeJoin, Room: "r", Since: &since})
		if frame := readFrame(t, ws); frame.Type != protocol.TypeJoined || frame.Head != published {
			t.Fatalf("since %d: frame %+v; want joined with head %d", since, frame, published)
		}
		if frame := readFrame(t, ws); frame.Type != protocol.TypeReset || frame.FromSeq != published-historyLenMax+1 {
			t.Fatalf("since %d: frame %+v; want one reset from %d", since, frame, published-historyLenMax+1)
		}
		for want := uint64(published - historyLenMax + 1); want <= published; want++ {
			if frame := readFrame(t, ws); frame.Type != protocol.TypeMsg || frame.Seq != want {
				t.Fatalf("since %d: frame %+v; want msg %d", since, frame, want)
			}
		}
	}
	// Nothing more is owed: the next frame each client gets is about the
	// next message (the sender may get its ack before or after the msg).
	writeFrame(t, clients[0], protocol.Send{Type: protocol.TypeSend, Room: "r", ID: "live", Body: "b"})
	for i, ws := range clients {
		if frame := readFrame(t, ws); (frame.Type != protocol.TypeAck && frame.Type != protocol.TypeMsg) ||
			frame.Seq != published+1 {
			t.Fatalf("client %d: after the replay, frame %+v; want the ack or msg of seq %d", i, frame, published+1)
		}
	}
}

// fill publishes count messages to room, a few at a time: the seqs are the
// broker's, so order between them does not matter.
func fill(t *testing.T, b *broker.Redis, room string, count int) {
	t.Helper()
	const publishersMax = 8
	var wait sync.WaitGroup
	errs := make(chan error, publishersMax)
	for p := range publishersMax {
		wait.Add(1)
		go func() {
			defer wait.Done()
			for i := p; i < count; i += publishersMax {
				_, err := b.Publish(context.Background(), node.PublishRequest{Room: room, ID: "m" + strconv.Itoa(i),
					From: "filler", Body: "b", TS: 1, EpochCandidate: "e1"})
				if err != nil {
					errs <- fmt.Errorf("publish %d: %w", i, err)
					return
				}
			}
		}()
	}
	wait.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func writeFrame(t *testing.T, ws *websocket.Conn, frame any) {
	t.Helper()
	if err := ws.WriteMessage(websocket.TextMessage, protocol.Encode(frame)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func readFrame(t *testing.T, ws *websocket.Conn) protocol.Outbound {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(resumeWait))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	frame, err := protocol.DecodeOutbound(data)
	if err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	return frame
}
