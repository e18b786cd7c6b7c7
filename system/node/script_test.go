package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"chatlab/system/protocol"
)

// TestScripts runs the node scripts under testdata/scripts, in the style of
// etcd raft's data-driven tests: each input command feeds the node one
// input and prints the Ready it produced, so that a change of behaviour
// shows as a readable diff of the golden output. Rewrite the goldens after
// an intended change with
//
//	go test ./system/node -run TestScripts -rewrite
//
// and read the diff before committing it.
//
// Commands (arguments are key=value; a frame or message is the input
// text):
//
//	new [id=n1] [delivery=recover|pubsub] [send-queue-len-max=N] [recent-len-max=N]
//	    [fetch-limit=N] [rate-burst=N] [rate-per-second=N] [poll-ms=N] [retry-ms=N]
//	open conn=N user=U          tick ms=N
//	frame conn=N  (input: the frame)   closed conn=N   flushed conn=N frames=N
//	drain   broker-up   broker-down
//	message  (input: the msg as JSON, without "type")
//	publish-reply req=N seq=N epoch=E [duplicate] [conflict]   publish-fail req=N
//	fetch-reply req=N epoch=E head=N first=N  (input: one msg as JSON per line)
//	fetch-fail req=N
//	snapshot                    the node's Snapshot as JSON
//
// Every frame the node writes counts as flushed at once unless the script
// says `new ... manual-flush`, so that scripts about slow consumers report
// flushes themselves.
func TestScripts(t *testing.T) {
	datadriven.Walk(t, "testdata/scripts", func(t *testing.T, path string) {
		s := &script{}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			out, err := s.run(d)
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			return out
		})
	})
}

// script is one file's node and its host's bookkeeping.
type script struct {
	node         *Node
	manualFlush  bool
	randomCalled uint64
}

func (s *script) run(d *datadriven.TestData) (string, error) {
	if d.Cmd != "new" && s.node == nil {
		return "", errors.New("no node: start the script with new")
	}
	switch d.Cmd {
	case "new":
		return s.new(d)
	case "snapshot":
		data, err := json.MarshalIndent(s.node.Snapshot(), "", "  ")
		return string(data) + "\n", err
	}
	input, err := s.input(d)
	if err != nil {
		return "", err
	}
	input()
	return s.ready(), nil
}

// input reads a command into the node input it stands for, without
// feeding it, so that a bad argument feeds nothing.
func (s *script) input(d *datadriven.TestData) (func(), error) {
	a := &args{d: d}
	n := s.node
	var feed func()
	switch d.Cmd {
	case "open":
		conn, user := ConnID(a.int("conn")), a.str("user")
		feed = func() { n.Open(conn, user) }
	case "frame":
		conn, data := ConnID(a.int("conn")), []byte(strings.TrimSpace(d.Input))
		feed = func() { n.Receive(conn, data) }
	case "closed":
		conn := ConnID(a.int("conn"))
		feed = func() { n.Closed(conn) }
	case "flushed":
		conn, frames := ConnID(a.int("conn")), int(a.int("frames"))
		feed = func() { n.Flushed(conn, frames) }
	case "drain":
		feed = n.Drain
	case "broker-up":
		feed = n.BrokerUp
	case "broker-down":
		feed = n.BrokerDown
	case "tick":
		ms := int64(a.int("ms"))
		feed = func() { n.Tick(ms) }
	case "message":
		msg, err := parseMsg(d.Input)
		if err != nil {
			return nil, err
		}
		feed = func() { n.Message(msg) }
	case "publish-reply":
		request := RequestID(a.int("req"))
		reply := PublishReply{Seq: a.int("seq"), Epoch: a.str("epoch"), Duplicate: d.HasArg("duplicate"), Conflict: d.HasArg("conflict")}
		feed = func() { n.Published(request, reply, nil) }
	case "publish-fail":
		request := RequestID(a.int("req"))
		feed = func() { n.Published(request, PublishReply{}, errors.New("broker: publish failed")) }
	case "fetch-reply":
		request := RequestID(a.int("req"))
		reply := FetchReply{Epoch: a.str("epoch"), Head: a.int("head"), First: a.int("first")}
		for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			msg, err := parseMsg(line)
			if err != nil {
				return nil, err
			}
			reply.Messages = append(reply.Messages, msg)
		}
		feed = func() { n.Fetched(request, reply, nil) }
	case "fetch-fail":
		request := RequestID(a.int("req"))
		feed = func() { n.Fetched(request, FetchReply{}, errors.New("broker: fetch failed")) }
	default:
		return nil, fmt.Errorf("unknown command %q", d.Cmd)
	}
	return feed, a.err
}

func (s *script) new(d *datadriven.TestData) (string, error) {
	a := &args{d: d}
	cfg := Config{ID: "n1", Random: func() uint64 { s.randomCalled++; return s.randomCalled }}
	if d.HasArg("id") {
		cfg.ID = a.str("id")
	}
	if d.HasArg("delivery") {
		delivery, ok := ParseDelivery(a.str("delivery"))
		if !ok {
			return "", fmt.Errorf("delivery %q: want recover or pubsub", a.str("delivery"))
		}
		cfg.Delivery = delivery
	}
	for key, field := range map[string]*int{"send-queue-len-max": &cfg.SendQueueLenMax, "recent-len-max": &cfg.RecentLenMax,
		"fetch-limit": &cfg.FetchLimit, "rate-burst": &cfg.RateBurst, "rate-per-second": &cfg.RatePerSecond} {
		if d.HasArg(key) {
			*field = int(a.int(key))
		}
	}
	if d.HasArg("poll-ms") {
		cfg.RoomPollIntervalMs = int64(a.int("poll-ms"))
	}
	if d.HasArg("retry-ms") {
		cfg.FetchRetryMs = int64(a.int("retry-ms"))
	}
	if a.err != nil {
		return "", a.err
	}
	s.node, s.manualFlush = New(cfg), d.HasArg("manual-flush")
	return "ok\n", nil
}

// ready prints the node's Ready, a line an item, in the node's order within
// each list, and reports the frames flushed unless flushes are manual.
func (s *script) ready() string {
	rd := s.node.Ready()
	var b strings.Builder
	flushed := map[ConnID]int{}
	var conns []ConnID
	for _, f := range rd.Frames {
		fmt.Fprintf(&b, "frame conn=%d %s\n", f.Conn, f.Data)
		if flushed[f.Conn] == 0 {
			conns = append(conns, f.Conn)
		}
		flushed[f.Conn]++
	}
	for _, c := range rd.Closes {
		fmt.Fprintf(&b, "close conn=%d code=%d reason=%q\n", c.Conn, c.Code, c.Reason)
	}
	for _, room := range rd.Subscribes {
		fmt.Fprintf(&b, "subscribe %s\n", room)
	}
	for _, room := range rd.Unsubscribes {
		fmt.Fprintf(&b, "unsubscribe %s\n", room)
	}
	for _, p := range rd.Publishes {
		fmt.Fprintf(&b, "publish req=%d room=%s id=%s from=%s body=%q ts=%d epoch-candidate=%s\n", p.Request, p.Room, p.ID, p.From,
			p.Body, p.TS, p.EpochCandidate)
	}
	for _, f := range rd.Fetches {
		fmt.Fprintf(&b, "fetch req=%d room=%s after=%d limit=%d epoch-candidate=%s\n", f.Request, f.Room, f.AfterSeq, f.Limit, f.EpochCandidate)
	}
	if len(rd.LatenciesMs) > 0 {
		fmt.Fprintf(&b, "latencies-ms %v\n", rd.LatenciesMs)
	}
	if b.Len() == 0 {
		b.WriteString("(nothing)\n")
	}
	if !s.manualFlush {
		closed := map[ConnID]bool{}
		for _, c := range rd.Closes {
			closed[c.Conn] = true
		}
		for _, conn := range conns {
			if !closed[conn] {
				s.node.Flushed(conn, flushed[conn])
			}
		}
	}
	return b.String()
}

func parseMsg(text string) (protocol.Msg, error) {
	msg := protocol.Msg{Type: protocol.TypeMsg}
	decoder := json.NewDecoder(strings.NewReader(text))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&msg); err != nil {
		return msg, fmt.Errorf("message %q: %w", strings.TrimSpace(text), err)
	}
	msg.Type = protocol.TypeMsg
	return msg, nil
}

// args reads a command's key=value arguments, keeping the first error.
type args struct {
	d   *datadriven.TestData
	err error
}

func (a *args) str(key string) string {
	arg, ok := a.d.Arg(key)
	if !ok || len(arg.Vals) != 1 {
		if a.err == nil {
			a.err = fmt.Errorf("%s: want %s=VALUE", a.d.Cmd, key)
		}
		return ""
	}
	return arg.Vals[0]
}

func (a *args) int(key string) uint64 {
	text := a.str(key)
	value, err := strconv.ParseUint(text, 10, 64)
	if err != nil && a.err == nil {
		a.err = fmt.Errorf("%s: %s=%q is not a whole number", a.d.Cmd, key, text)
	}
	return value
}
