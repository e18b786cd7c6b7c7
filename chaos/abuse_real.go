package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"chatlab/scenarios"
)

// Timings and bounds of the real targets' abusers, as the simulator's
// (sim/abuser.go).
const (
	// abuseTick is how often an abuser writes its frames or opens its
	// connections (at high rates, a tick's worth at once).
	abuseTick = 10 * time.Millisecond
	// abuseRedial is how long a flooding connection the node closed waits
	// before it comes back.
	abuseRedial = 200 * time.Millisecond
	// abuseDialWait bounds one dial of an abuser.
	abuseDialWait = 5 * time.Second
	// abuseDialsMax bounds an abuser's dials under way at once, so that a
	// connection flood cannot exhaust the run's own file descriptors.
	abuseDialsMax = 64
)

// abuserAddress is the local target's abusers' address: another loopback
// address than the well-behaved clients' 127.0.0.1, so that the
// balancer's per-address limit tells them apart as it tells apart two
// hosts on the internet.
var abuserAddress = net.IPv4(127, 0, 0, 2)

// abuse is one running abuse fault: its stop and its goroutines.
type abuse struct {
	stop context.CancelFunc
	done sync.WaitGroup
	// conns are the abuser's open connections (closed at stop).
	mu      sync.Mutex
	conns   map[net.Conn]bool
	stopped bool
	open    atomic.Int64
}

// startAbuse starts an abuse fault's abuser on the real target, or stops
// it at the window's end.
func (r *realCluster) startAbuse(ctx context.Context, step Step) error {
	index := slices.IndexFunc(r.scenario.Faults, func(f scenarios.Fault) bool { return f == step.Fault })
	if step.End {
		r.stopAbuse(index)
		return nil
	}
	f := step.Fault
	urls, err := r.faultURLs(ctx, f)
	if err != nil {
		return err
	}
	if len(urls) == 0 {
		return errors.New("no entry to abuse")
	}
	local, err := r.system.abuserAddr()
	if err != nil {
		return err
	}
	abuseCtx, cancel := context.WithCancel(r.clientsCtx)
	a := &abuse{stop: cancel, conns: map[net.Conn]bool{}}
	r.abuses[index] = a
	dialer := &net.Dialer{Timeout: abuseDialWait}
	if local != nil {
		dialer.LocalAddr = &net.TCPAddr{IP: local}
	}
	name := AbuserName(index)
	every := interval(float64(f.Rate))
	switch f.Action {
	case scenarios.JoinFlood, scenarios.Garbage:
		for slot := range f.Clients {
			user := name + "-" + strconv.Itoa(slot+1)
			a.done.Go(func() { a.flood(abuseCtx, dialer, urls[0], user, f.Action, every) })
		}
	case scenarios.ConnFlood:
		a.done.Go(func() { a.connFlood(abuseCtx, dialer, urls[0], name, f.Clients, every) })
	case scenarios.UpgradeAborts:
		a.done.Go(func() { a.upgradeAborts(abuseCtx, dialer, urls[0], name, f.Clients, every) })
	default:
		return fmt.Errorf("no abuser for %s", f.Action)
	}
	return nil
}

// stopAbuse ends the abuse of the fault at index, if it runs: its
// goroutines stop and its connections close.
func (r *realCluster) stopAbuse(index int) {
	a := r.abuses[index]
	if a == nil {
		return
	}
	delete(r.abuses, index)
	a.stop()
	a.mu.Lock()
	a.stopped = true
	for conn := range a.conns { // map order: each is closed alone
		conn.Close()
	}
	a.mu.Unlock()
	a.done.Wait()
}

// stopAbuses ends every abuse still running.
func (r *realCluster) stopAbuses() {
	indexes := make([]int, 0, len(r.abuses))
	for index := range r.abuses {
		indexes = append(indexes, index)
	}
	slices.Sort(indexes)
	for _, index := range indexes {
		r.stopAbuse(index)
	}
}

// track keeps conn to be closed at stop (false once the abuse stopped:
// the caller closes it).
func (a *abuse) track(conn net.Conn) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped {
		return false
	}
	a.conns[conn] = true
	a.open.Add(1)
	return true
}

func (a *abuse) untrack(conn net.Conn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conns[conn] {
		delete(a.conns, conn)
		a.open.Add(-1)
	}
}

// dialWebSocket opens a WebSocket connection as user.
func dialWebSocket(ctx context.Context, dialer *net.Dialer, entry, user string) (*websocket.Conn, error) {
	target, err := url.Parse(entry)
	if err != nil {
		return nil, err
	}
	query := target.Query()
	query.Set("user", user)
	target.RawQuery = query.Encode()
	ws := websocket.Dialer{HandshakeTimeout: abuseDialWait, NetDialContext: dialer.DialContext,
		ReadBufferSize: 1024, WriteBufferSize: 4096}
	conn, response, err := ws.DialContext(ctx, target.String(), nil)
	if response != nil && response.Body != nil {
		response.Body.Close()
	}
	return conn, err
}

// flood keeps one connection of a join or garbage flood going until ctx
// ends: it writes a tick's worth of frames every tick, reads and drops
// what the node answers, and comes back abuseRedial after the node closed
// it (or refused it).
func (a *abuse) flood(ctx context.Context, dialer *net.Dialer, entry, user string, action scenarios.Action, every time.Duration) {
	frames := 0
	for ctx.Err() == nil {
		conn, err := dialWebSocket(ctx, dialer, entry, user)
		if err == nil {
			if !a.track(conn.NetConn()) {
				conn.Close()
				return
			}
			go func() {
				for {
					if _, _, err := conn.NextReader(); err != nil {
						conn.Close()
						return
					}
				}
			}()
			frames = a.write(ctx, conn, action, user, frames, every)
			a.untrack(conn.NetConn())
			conn.Close()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(abuseRedial):
		}
	}
}

// write sends frames at one every interval until the connection fails or
// ctx ends: a leave of the room joined last and a join of a new one in
// turn, or garbage. It returns the frames written so far.
func (a *abuse) write(ctx context.Context, conn *websocket.Conn, action scenarios.Action, user string, frames int, every time.Duration) int {
	tick := time.NewTicker(max(abuseTick, every))
	defer tick.Stop()
	owed := 0.0
	for {
		select {
		case <-ctx.Done():
			return frames
		case <-tick.C:
		}
		owed += float64(max(abuseTick, every)) / float64(every)
		for ; owed >= 1; owed-- {
			frames++
			var frame []byte
			switch {
			case action == scenarios.Garbage:
				frame = []byte("\xff{not json " + strconv.Itoa(frames))
			case frames%2 == 1:
				frame = []byte(`{"type":"join","room":"` + user + `-` + strconv.Itoa(frames) + `"}`)
			default:
				frame = []byte(`{"type":"leave","room":"` + user + `-` + strconv.Itoa(frames-1) + `"}`)
			}
			conn.SetWriteDeadline(time.Now().Add(time.Second))
			if err := conn.WriteMessage(websocket.TextMessage, frame); err != nil {
				return frames
			}
		}
	}
}

// connFlood opens connections as user, one every interval (a tick's worth
// at once), while it holds fewer than clients; a connection the node or
// the balancer closes or refuses makes room for another.
func (a *abuse) connFlood(ctx context.Context, dialer *net.Dialer, entry, user string, clients int, every time.Duration) {
	tick := time.NewTicker(max(abuseTick, every))
	defer tick.Stop()
	dials := make(chan struct{}, abuseDialsMax)
	var pending atomic.Int64
	owed := 0.0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		owed += float64(max(abuseTick, every)) / float64(every)
		for ; owed >= 1; owed-- {
			if a.open.Load()+pending.Load() >= int64(clients) {
				continue
			}
			select {
			case dials <- struct{}{}:
			default:
				continue // abuseDialsMax dials under way: this one is skipped
			}
			pending.Add(1)
			a.done.Go(func() {
				conn, err := dialWebSocket(ctx, dialer, entry, user)
				<-dials
				if err == nil && !a.track(conn.NetConn()) {
					conn.Close()
					err = context.Canceled
				}
				pending.Add(-1)
				if err != nil {
					return
				}
				for {
					if _, _, err := conn.NextReader(); err != nil {
						a.untrack(conn.NetConn())
						conn.Close()
						return
					}
				}
			})
		}
	}
}

// upgradeAborts sends a burst of clients upgrade requests every interval,
// each with a garbage credential, and resets each socket right after its
// request (linger 0: a RST, not a FIN).
func (a *abuse) upgradeAborts(ctx context.Context, dialer *net.Dialer, entry, user string, clients int, every time.Duration) {
	target, err := url.Parse(entry)
	if err != nil {
		return
	}
	request := []byte("GET " + target.Path + "?user=" + url.QueryEscape(user) + "%00 HTTP/1.1\r\nHost: " + target.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nAuthorization: Bearer garbage.garbage.garbage\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		var burst sync.WaitGroup
		for range clients {
			burst.Go(func() {
				conn, err := dialer.DialContext(ctx, "tcp", target.Host)
				if err != nil {
					return // the listen backlog overflowed: that client never arrived
				}
				conn.Write(request)
				conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			})
		}
		burst.Wait()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
