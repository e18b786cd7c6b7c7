package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"chatlab/system/balance"
	"chatlab/system/socket"
)

const (
	// handshakeResponseBufferBytes holds a backend's upgrade response
	// headers; the reader is dropped once the link starts.
	handshakeResponseBufferBytes = 4096
	// refusalBodyBytesMax bounds the body of a backend's refusal (401, 403)
	// that is passed on to the client.
	refusalBodyBytesMax = 4096
)

// forwardedHeaders are the client's upgrade headers a node needs: the
// WebSocket handshake itself, the credentials and the browser's origin.
var forwardedHeaders = []string{
	"Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions",
	"Authorization", "Origin", "User-Agent", "Cookie",
}

// errBackendRefused marks an upgrade a backend answered with a 5xx: it is
// overloaded or draining, which counts like a failed dial.
var errBackendRefused = errors.New("backend refused the upgrade")

// serveWebSocket proxies one client: pick a backend, run the WebSocket
// handshake with it on the client's behalf, and only once it switched
// protocols, take over the client's socket and relay.
func (p *Proxy) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if p.draining.Load() {
		http.Error(w, "balancer draining: reconnect", http.StatusServiceUnavailable)
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		http.Error(w, "this endpoint speaks WebSocket only: send an Upgrade: websocket request", http.StatusUpgradeRequired)
		return
	}
	// The peer's address: the balancer is the edge, so an X-Forwarded-For
	// the client came with is not trusted for limits.
	var admitted bool
	var refusal balance.Refusal
	p.step(func(b *balance.Balancer) { admitted, refusal = b.AdmitSource(socket.HostOf(r.RemoteAddr)) })
	if !admitted {
		p.refuse(w, refusal, 1)
		return
	}
	id := balance.ConnID(p.nextConn.Add(1))
	user := userOf(r)
	// The first pick and, after a failed dial, one retry elsewhere.
	for attempt := 1; ; attempt++ {
		backend, refused := p.pick(id, user)
		if refused != "" {
			p.refuse(w, refused, attempt)
			return
		}
		backendConn, response, buffered, err := p.dialBackend(r, backend)
		if err != nil && r.Context().Err() != nil {
			// The client gave up (reset, timed out) while its dial was
			// under way: its cancellation ended the dial, which says
			// nothing about the backend.
			p.log.Debug("client left during its backend dial", "backend", backend.Name, "err", err, "remote", r.RemoteAddr)
			p.step(func(b *balance.Balancer) { b.Closed(id) })
			return
		}
		if err != nil {
			p.log.Warn("backend dial failed", "backend", backend.Name, "addr", backend.Addr, "err", err, "attempt", attempt)
			p.step(func(b *balance.Balancer) { b.DialFailed(id) })
			if attempt < picksPerClient {
				continue
			}
			p.step(func(b *balance.Balancer) { b.Closed(id) })
			http.Error(w, "bad gateway: no backend could be reached", http.StatusBadGateway)
			return
		}
		if response.StatusCode != http.StatusSwitchingProtocols {
			// The backend answered (401, 403, 400): the client's problem,
			// passed on as is.
			p.step(func(b *balance.Balancer) { b.Closed(id) })
			passRefusal(w, response)
			backendConn.Close()
			return
		}
		p.upgradeClient(w, id, backend.Name, backendConn, response, buffered)
		return
	}
}

// picksPerClient: the first pick and one retry (balance allows no more).
const picksPerClient = 2

func (p *Proxy) pick(id balance.ConnID, user string) (balance.Backend, balance.Refusal) {
	var chosen balance.Backend
	var refusal balance.Refusal
	p.step(func(b *balance.Balancer) {
		name, ok, why := b.Pick(id, user)
		if !ok {
			refusal = why
			return
		}
		chosen = p.backends[name]
	})
	return chosen, refusal
}

// refuse answers a client no backend was picked for.
func (p *Proxy) refuse(w http.ResponseWriter, refusal balance.Refusal, attempt int) {
	switch refusal {
	case balance.RefusedRateLimited:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "too many new connections: retry in a second", http.StatusServiceUnavailable)
	case balance.RefusedSourceRateLimited:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "too many new connections from your address: retry in a second", http.StatusServiceUnavailable)
	case balance.RefusedFull:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "every backend is at its connection cap", http.StatusServiceUnavailable)
	default:
		message := "bad gateway: no backend is up"
		if attempt > 1 {
			message = "bad gateway: the backend failed and no other is up"
		}
		http.Error(w, message, http.StatusBadGateway)
	}
}

// dialBackend opens a TCP connection to the backend and sends it the
// client's upgrade request (same path and query, the headers a node needs,
// X-Forwarded-For). It returns the backend's response and the reader that
// may already hold the first frames after it. A network error or a 5xx is
// an error: the backend cannot serve.
func (p *Proxy) dialBackend(r *http.Request, backend balance.Backend) (net.Conn, *http.Response, *bufio.Reader, error) {
	ctx, cancel := context.WithTimeout(r.Context(), p.config.DialTimeout)
	defer cancel()
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", backend.Addr)
	if err != nil {
		return nil, nil, nil, err
	}
	socket.CapBuffers(conn, p.config.SocketBufferBytes)
	conn.SetDeadline(time.Now().Add(p.config.HandshakeTimeout))
	request := upgradeRequest(r, backend.Addr)
	reader := bufio.NewReaderSize(conn, handshakeResponseBufferBytes)
	response, err := writeAndRead(conn, reader, request)
	if err == nil && response.StatusCode >= http.StatusInternalServerError {
		err = fmt.Errorf("%w: %s", errBackendRefused, response.Status)
	}
	if err != nil {
		conn.Close()
		return nil, nil, nil, err
	}
	conn.SetDeadline(time.Time{})
	return conn, response, reader, nil
}

func writeAndRead(conn net.Conn, reader *bufio.Reader, request *http.Request) (*http.Response, error) {
	if err := request.Write(conn); err != nil {
		return nil, err
	}
	return http.ReadResponse(reader, request)
}

// upgradeRequest is the request to the backend. Host stays the client's, so
// that a node's same-origin check sees what the browser saw.
func upgradeRequest(r *http.Request, addr string) *http.Request {
	request := &http.Request{
		Method:     http.MethodGet,
		URL:        &url.URL{Scheme: "http", Host: addr, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{},
		Host:       r.Host,
	}
	for _, name := range forwardedHeaders {
		if values := r.Header.Values(name); len(values) > 0 {
			request.Header[http.CanonicalHeaderKey(name)] = values
		}
	}
	request.Header.Set("Upgrade", "websocket")
	request.Header.Set("Connection", "Upgrade")
	request.Header.Set("X-Forwarded-For", forwardedFor(r))
	request.Header.Set("X-Forwarded-Host", r.Host)
	request.Header.Set("X-Forwarded-Proto", "http")
	return request
}

// forwardedFor appends the client's address to any X-Forwarded-For it came
// with (it may itself be behind a proxy).
func forwardedFor(r *http.Request) string {
	client := socket.HostOf(r.RemoteAddr)
	if prior := strings.Join(r.Header.Values("X-Forwarded-For"), ", "); prior != "" {
		return prior + ", " + client
	}
	return client
}

// passRefusal hands a backend's non-upgrade answer to the client.
func passRefusal(w http.ResponseWriter, response *http.Response) {
	defer response.Body.Close()
	for _, name := range []string{"Content-Type", "Retry-After", "WWW-Authenticate"} {
		if value := response.Header.Get(name); value != "" {
			w.Header().Set(name, value)
		}
	}
	w.WriteHeader(response.StatusCode)
	io.Copy(w, io.LimitReader(response.Body, refusalBodyBytesMax))
}

// upgradeClient takes over the client's socket, sends it the backend's
// 101 and whatever the backend already sent after it, and starts the relay.
func (p *Proxy) upgradeClient(w http.ResponseWriter, id balance.ConnID, backend string, backendConn net.Conn, response *http.Response, buffered *bufio.Reader) {
	clientConn, clientBuffered, err := http.NewResponseController(w).Hijack()
	if err != nil {
		p.log.Warn("client hijack failed", "err", err)
		backendConn.Close()
		p.step(func(b *balance.Balancer) { b.Closed(id) })
		return
	}
	socket.CapBuffers(clientConn, p.config.SocketBufferBytes)
	l := &link{
		id:        id,
		backend:   backend,
		proxy:     p,
		toClient:  side{conn: clientConn, writeWait: p.config.WriteWait},
		toServer:  side{conn: backendConn, masked: true, writeWait: p.config.WriteWait},
		pumpsLeft: 2,
	}
	// The link is open to the balancer (and can be shed) from here on; a
	// shed waits for the client side's lock, so its close frame can only
	// follow the 101.
	l.toClient.mu.Lock()
	p.step(func(b *balance.Balancer) {
		b.Opened(id)
		p.links[id] = l
	})
	err = l.handOverLocked(response, buffered)
	l.toClient.mu.Unlock()
	if err == nil {
		err = relayBuffered(clientBuffered.Reader, &l.toServer)
	}
	if err != nil {
		p.log.Debug("handshake hand-over failed", "conn", id, "err", err)
		l.closeSockets()
		p.linkClosed(l)
		return
	}
	l.start()
	if p.draining.Load() {
		// Drain began during this handshake: tell this client too.
		l.shed("balancer draining: reconnect")
	}
}

// handOverLocked writes the backend's 101 to the client, then the bytes
// the backend sent after it that were read ahead with the response. The
// caller holds the client side's lock.
func (l *link) handOverLocked(response *http.Response, fromBackend *bufio.Reader) error {
	var head strings.Builder
	head.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	response.Header.Write(&head)
	head.WriteString("\r\n")
	if err := l.toClient.write([]byte(head.String())); err != nil {
		return err
	}
	if fromBackend.Buffered() == 0 {
		return nil
	}
	data, _ := fromBackend.Peek(fromBackend.Buffered())
	if err := l.toClient.write(data); err != nil {
		return err
	}
	l.toClient.tracker.advance(data)
	return nil
}

// relayBuffered sends on what the client sent right behind its upgrade
// request, which net/http read ahead.
func relayBuffered(reader *bufio.Reader, to *side) error {
	if reader.Buffered() == 0 {
		return nil
	}
	data, _ := reader.Peek(reader.Buffered())
	return to.relay(data)
}
