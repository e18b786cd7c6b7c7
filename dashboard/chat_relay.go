package dashboard

import (
	"errors"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"chatlab/system/protocol"
)

// Bounds on the chat pane's relay.
const (
	// chatRelaysMax is how many chat pane clients may be open at once: the
	// pane opens two; a few tabs may be open.
	chatRelaysMax = 16
	// chatDialWait bounds the handshake with the balancer.
	chatDialWait = 5 * time.Second
	// chatWriteWait bounds one frame's write to either side, as gorilla's
	// chat example does: a peer that cannot take it is cut off.
	chatWriteWait = 10 * time.Second
)

// serveChatRelay carries one chat pane client to the balancer's /ws and
// back, frame for frame. The browser talks to the dashboard's own origin;
// the dashboard connects to the balancer as a non-browser client, so the
// nodes' origin check (same host only by default) does not have to know
// the dashboard's address. Close codes pass through both ways, so the pane
// sees a node's 4000 (reconnect) as a direct client would.
func serveChatRelay(balancer string, relays *atomic.Int32) http.HandlerFunc {
	upgrader := websocket.Upgrader{ReadBufferSize: 0, WriteBufferSize: 0}
	dialer := websocket.Dialer{HandshakeTimeout: chatDialWait}
	return func(w http.ResponseWriter, r *http.Request) {
		user := r.URL.Query().Get("user")
		switch {
		case balancer == "":
			http.Error(w, "no cluster to chat on: the dashboard was started without --balancer", http.StatusNotFound)
			return
		case user == "":
			http.Error(w, "give the chat user as ?user=NAME", http.StatusBadRequest)
			return
		case relays.Add(1) > chatRelaysMax:
			relays.Add(-1)
			http.Error(w, "too many chat clients open", http.StatusServiceUnavailable)
			return
		}
		defer relays.Add(-1)
		browser, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // the upgrader has answered
		}
		defer browser.Close()
		browser.SetReadLimit(protocol.FrameBytesMax)
		target := url.URL{Scheme: "ws", Host: browsable(balancer), Path: "/ws", RawQuery: url.Values{"user": {user}}.Encode()}
		cluster, response, err := dialer.DialContext(r.Context(), target.String(), nil)
		if err != nil {
			reason := "the balancer refused or did not answer: " + err.Error()
			if response != nil {
				reason = "the balancer answered " + response.Status
			}
			closeWith(browser, websocket.CloseTryAgainLater, reason)
			return
		}
		defer cluster.Close()
		done := make(chan struct{}, 2)
		go func() { relay(browser, cluster); done <- struct{}{} }()
		go func() { relay(cluster, browser); done <- struct{}{} }()
		// When one direction ends, closing both sockets ends the other.
		<-done
		browser.Close()
		cluster.Close()
		<-done
	}
}

// relay copies text frames from one socket to the other until either
// fails; a close frame from the source is passed on with its code. Each
// socket has one reader (its own relay) and one writer (the other's).
func relay(from, to *websocket.Conn) {
	for {
		kind, data, err := from.ReadMessage()
		if err != nil {
			var closed *websocket.CloseError
			if errors.As(err, &closed) {
				closeWith(to, closed.Code, closed.Text)
			}
			return
		}
		to.SetWriteDeadline(time.Now().Add(chatWriteWait))
		if err := to.WriteMessage(kind, data); err != nil {
			return
		}
	}
}

// closeWith sends a close frame; reasons are cut to fit a control frame.
func closeWith(ws *websocket.Conn, code int, reason string) {
	const reasonBytesMax = 123 // 125-byte control payload less the code
	if len(reason) > reasonBytesMax {
		reason = reason[:reasonBytesMax]
	}
	if code == websocket.CloseNoStatusReceived || code == websocket.CloseAbnormalClosure {
		code = websocket.CloseGoingAway
	}
	ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(chatWriteWait))
}
