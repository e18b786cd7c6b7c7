package dashboard

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestChatInfoPointsTheChatPaneAtTheBalancer(t *testing.T) {
	for _, c := range []struct{ balancer, want string }{
		{"", `{"balancer_url":"","relay_path":""}`},
		{":8080", `{"balancer_url":"ws://127.0.0.1:8080/ws","relay_path":"/api/chat/ws"}`},
		{"0.0.0.0:9000", `{"balancer_url":"ws://127.0.0.1:9000/ws","relay_path":"/api/chat/ws"}`},
		{"127.0.0.1:8080", `{"balancer_url":"ws://127.0.0.1:8080/ws","relay_path":"/api/chat/ws"}`},
	} {
		recorder := httptest.NewRecorder()
		Handler(Options{Balancer: c.balancer}).ServeHTTP(recorder, httptest.NewRequest("GET", "/api/chat", nil))
		if got := strings.TrimSpace(recorder.Body.String()); got != c.want {
			t.Errorf("balancer %q: /api/chat = %s, want %s", c.balancer, got, c.want)
		}
	}
}

// fakeBalancer welcomes ?user=, echoes each frame, and on "bye" closes
// with 4000 (reconnect) as a draining node does.
func fakeBalancer(t *testing.T) *httptest.Server {
	upgrader := websocket.Upgrader{}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ws" || r.Header.Get("Origin") != "" {
			http.Error(w, "want /ws from a non-browser client", http.StatusForbidden)
			return
		}
		ws, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"welcome","node":"n2","user":"`+r.URL.Query().Get("user")+`"}`))
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if string(data) == "bye" {
				ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4000, "reconnect"), time.Now().Add(time.Second))
				ws.ReadMessage()
				return
			}
			ws.WriteMessage(websocket.TextMessage, data)
		}
	}))
	t.Cleanup(server.Close)
	return server
}

func TestTheChatRelayCarriesFramesAndCloseCodesBothWays(t *testing.T) {
	balancer := fakeBalancer(t)
	dashboard := httptest.NewServer(Handler(Options{Balancer: strings.TrimPrefix(balancer.URL, "http://"), RunsDir: t.TempDir()}))
	defer dashboard.Close()
	// The browser's origin is the dashboard's own: the relay's same-origin
	// check lets it in, and the balancer sees no Origin at all.
	header := http.Header{"Origin": {dashboard.URL}}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(dashboard.URL, "http")+"/api/chat/ws?user=alice", header)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(sseWait))
	if _, data, err := ws.ReadMessage(); err != nil || !strings.Contains(string(data), `"user":"alice"`) {
		t.Fatalf("first frame = %s, %v; want the welcome for alice", data, err)
	}
	frame := `{"type":"join","room":"lobby"}`
	ws.WriteMessage(websocket.TextMessage, []byte(frame))
	if _, data, err := ws.ReadMessage(); err != nil || string(data) != frame {
		t.Fatalf("echo = %s, %v; want %s", data, err, frame)
	}
	ws.WriteMessage(websocket.TextMessage, []byte("bye"))
	_, _, err = ws.ReadMessage()
	var closed *websocket.CloseError
	if !errors.As(err, &closed) || closed.Code != 4000 {
		t.Errorf("after the balancer closed with 4000: %v, want close 4000", err)
	}
}

func TestTheChatRelayRefusesWithoutACluster(t *testing.T) {
	if status, _ := get(t, Handler(Options{RunsDir: t.TempDir()}), "/api/chat/ws?user=a"); status != http.StatusNotFound {
		t.Errorf("relay without a balancer: %d, want 404", status)
	}
	if status, _ := get(t, Handler(Options{Balancer: "127.0.0.1:1"}), "/api/chat/ws"); status != http.StatusBadRequest {
		t.Errorf("relay without ?user=: %d, want 400", status)
	}
}
