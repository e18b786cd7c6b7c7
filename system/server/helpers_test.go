package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gorilla/websocket"

	"chatlab/system/broker"
	"chatlab/system/node"
	"chatlab/system/protocol"
)

// testWait bounds every wait in these tests: a hang fails instead of
// stalling the run.
const testWait = 10 * time.Second

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// startNode runs a node on 127.0.0.1:0 linked to m, with auth on unless
// configure turns it off, and waits until it is ready.
func startNode(t testing.TB, m *miniredis.Miniredis, id string, configure func(*Config)) *Server {
	t.Helper()
	cfg := Config{ID: id, Listen: "127.0.0.1:0", Auth: true, Secret: testSecret, Logger: testLogger()}
	if configure != nil {
		configure(&cfg)
	}
	b, err := broker.NewRedis(broker.RedisConfig{URL: "redis://" + m.Addr(), Delivery: cfg.Delivery})
	if err != nil {
		t.Fatalf("broker: %v", err)
	}
	cfg.Broker = b
	srv, err := Start(context.Background(), cfg)
	if err != nil {
		b.Close()
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		srv.Close()
		b.Close()
	})
	waitStatus(t, srv, "/readyz", http.StatusOK)
	return srv
}

// testLogger discards logs unless CHATLAB_TEST_LOG=1 asks for them.
func testLogger() *slog.Logger {
	if os.Getenv("CHATLAB_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// waitStatus polls path until it answers want.
func waitStatus(t testing.TB, srv *Server, path string, want int) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for {
		status, _ := get(t, srv, path)
		if status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s answered %d, not %d, for %s", path, status, want, testWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t testing.TB, srv *Server, path string) (int, string) {
	t.Helper()
	return getAt(t, srv.Addr(), path)
}

// getAdmin asks the node's admin listener.
func getAdmin(t testing.TB, srv *Server, path string) (int, string) {
	t.Helper()
	return getAt(t, srv.AdminAddr(), path)
}

func getAt(t testing.TB, addr, path string) (int, string) {
	t.Helper()
	response, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return response.StatusCode, string(body)
}

// token mints a token for user that grants every room (the test nodes run
// with the default: rooms closed to a token without a rooms claim).
func token(t testing.TB, user string) string {
	t.Helper()
	return tokenFor(t, user, []string{"*"})
}

// tokenFor mints a token for user whose rooms claim is rooms (none: no claim).
func tokenFor(t testing.TB, user string, rooms []string) string {
	t.Helper()
	signed, err := MintToken(testSecret, user, rooms, time.Hour, time.Now())
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	return signed
}

// client is a test WebSocket client.
type client struct {
	t  testing.TB
	ws *websocket.Conn
}

// dial connects with query (e.g. "token=..."), expects the welcome frame
// and returns the client.
func dial(t testing.TB, srv *Server, query string) *client {
	t.Helper()
	c, _ := dialHeader(t, srv, query, nil)
	return c
}

// dialWelcome connects and returns the user the welcome frame names.
func dialWelcome(t testing.TB, srv *Server, query string, header http.Header) string {
	t.Helper()
	_, welcome := dialHeader(t, srv, query, header)
	return welcome.User
}

func dialHeader(t testing.TB, srv *Server, query string, header http.Header) (*client, protocol.Outbound) {
	t.Helper()
	ws, response, err := websocket.DefaultDialer.Dial("ws://"+srv.Addr()+"/ws?"+query, header)
	if err != nil {
		status := 0
		if response != nil {
			status = response.StatusCode
		}
		t.Fatalf("dial: %v (HTTP %d)", err, status)
	}
	c := &client{t: t, ws: ws}
	t.Cleanup(func() { ws.Close() })
	welcome := c.next()
	if welcome.Type != protocol.TypeWelcome {
		t.Fatalf("first frame is %+v, not welcome", welcome)
	}
	return c, welcome
}

// dialStatus attempts a connection that must be refused; it returns the
// HTTP status and body.
func dialStatus(t testing.TB, srv *Server, query string, header http.Header) (int, string) {
	t.Helper()
	ws, response, err := websocket.DefaultDialer.Dial("ws://"+srv.Addr()+"/ws?"+query, header)
	if err == nil {
		ws.Close()
		t.Fatalf("dial with %q succeeded; want a refusal", query)
	}
	if response == nil {
		t.Fatalf("dial: %v, with no HTTP response", err)
	}
	body, _ := io.ReadAll(response.Body)
	return response.StatusCode, strings.TrimSpace(string(body))
}

func userQuery(user string) string { return "user=" + url.QueryEscape(user) }

func (c *client) write(frame any) {
	c.t.Helper()
	c.writeRaw(websocket.TextMessage, protocol.Encode(frame))
}

func (c *client) writeRaw(kind int, data []byte) {
	c.t.Helper()
	if err := c.ws.WriteMessage(kind, data); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next reads one frame.
func (c *client) next() protocol.Outbound {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(testWait))
	kind, data, err := c.ws.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if kind != websocket.TextMessage {
		c.t.Fatalf("read a frame of kind %d, not text", kind)
	}
	frame, err := protocol.DecodeOutbound(data)
	if err != nil {
		c.t.Fatalf("%v: %s", err, data)
	}
	return frame
}

// nextOf reads until a frame of the given type, failing on an error frame.
func (c *client) nextOf(kind string) protocol.Outbound {
	c.t.Helper()
	for {
		frame := c.next()
		if frame.Type == kind {
			return frame
		}
		if frame.Type == protocol.TypeError {
			c.t.Fatalf("error frame %s: %s, waiting for %s", frame.Code, frame.Message, kind)
		}
	}
}

func (c *client) join(room string) protocol.Outbound {
	c.t.Helper()
	c.write(protocol.Join{Type: protocol.TypeJoin, Room: room})
	return c.nextOf(protocol.TypeJoined)
}

// closeCode reads until the connection closes and returns the close code.
func (c *client) closeCode() int {
	c.t.Helper()
	code, err := c.readClose()
	if err != nil {
		c.t.Fatal(err)
	}
	return code
}

// closeCodeReason reads until the connection closes and returns the close
// code and reason, skipping the frames before it.
func (c *client) closeCodeReason() (int, string) {
	c.t.Helper()
	code, reason, err := c.readCloseReason()
	if err != nil {
		c.t.Fatal(err)
	}
	return code, reason
}

// readClose reads (on any goroutine) until the connection closes and
// returns the close code, or an error if it ended without a close frame.
func (c *client) readClose() (int, error) {
	code, _, err := c.readCloseReason()
	return code, err
}

// readCloseReason is readClose with the close frame's reason.
func (c *client) readCloseReason() (int, string, error) {
	c.ws.SetReadDeadline(time.Now().Add(testWait))
	for {
		_, _, err := c.ws.ReadMessage()
		if err == nil {
			continue
		}
		closeErr, ok := err.(*websocket.CloseError)
		if !ok {
			return 0, "", fmt.Errorf("connection ended with %v, not a close frame", err)
		}
		return closeErr.Code, closeErr.Text, nil
	}
}

// nodeState reads the node's snapshot from the admin listener's /state.
func nodeState(t testing.TB, srv *Server) node.Snapshot {
	t.Helper()
	status, body := getAdmin(t, srv, "/state")
	if status != http.StatusOK {
		t.Fatalf("/state = %d", status)
	}
	var state State
	if err := json.Unmarshal([]byte(body), &state); err != nil {
		t.Fatalf("/state is not JSON: %v\n%s", err, body)
	}
	return state.Node
}
