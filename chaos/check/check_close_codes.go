package check

import (
	"fmt"
	"slices"
	"strings"

	"chatlab/system/client"
	"chatlab/system/protocol"
)

// WebSocket close codes a client may see, with the cause each answers
// (protocol's codes and RFC 6455's):
//
//	cause                                              codes
//	the client closed it (told "draining", not closed)  1000 (sim), 1006 (a real reader sees its own close)
//	its host dropped the transport (reconnects)        1006
//	it sent a frame over protocol.FrameBytesMax        1009
//	it stopped reading: the node cut off a slow reader 4000
//	  (on real hosts, also a reader the load slowed:    4000 with protocol.ReasonSlowConsumer)
//	its node drains; the balancer sheds it             4000
//	its node dies, pauses, or its balancer link fails  1006 (a reset), 4000 (the real balancer's "backend gone: reconnect")
//	the balancer restarts or pauses                    1006, 4000 (a balancer stopping drains with 4000)
//	its node's Redis link fails (a partition, delay or  4000 (the node moves its clients once the link
//	  loss of nX-redis; Redis paused or restarted;       has been down longer than its grace)
//	  pub/sub kept down by a pubsub-kill window)
//
// 1002 (protocol error) is the client's own close when the stream broke
// the WebSocket framing, and a frame that is not a protocol frame at all
// (bad JSON) a stream cut or spliced on its way: a node that gives up a
// write halfway and goes on writing, a balancer that drops what it failed
// to relay. No cause explains either.
//
// protocol.ClosePolicy (4008) answers abuse, which no node sends today,
// and protocol.CloseTokenExpired (4001) a token that expired, which the
// lab's clients never carry (its nodes run under --auth off): like any
// code no cause explains, each is a violation.
const (
	closeNormal   = 1000
	closeAbnormal = 1006
)

// frameOverheadBytesMin is the least a send frame adds to its body.
const frameOverheadBytesMin = 32

// closeCause is one reason a connection may have ended and the codes it
// allows.
type closeCause struct {
	what  string
	codes []int
}

// connectionFacts is what one client connection went through until its
// close.
type connectionFacts struct {
	fromMs    int64
	dropped   bool
	selfClose bool // told "draining": the client closes it after a while
	tooBig    bool
	stalled   bool
	corrupt   bool // a frame failed to decode: reported once
	// stalledMs is when the client's last stall began.
	stalledMs int64
}

// checkCloseCodes holds every close a client saw against its causes: the
// client's own actions, its host's (drops, stalls), the balancer's sheds
// and the faults on its node, the node's balancer link and the balancer.
// A close no cause explains, or whose code no cause allows, is a violation.
func checkCloseCodes(clients clientRecords, facts Facts) Check {
	v := newVerdict(CheckCloseCodes)
	names, records := clients.names, clients.records
	counts := map[int]int{}
	closes := 0
	for _, name := range names {
		var conn connectionFacts
		var stalled bool
		var readingAt, stalledAt int64 = -1, -1
		bodies := map[string]int{}
		for _, r := range records[name] {
			switch r.Kind {
			case client.KindConnected:
				conn = connectionFacts{fromMs: r.AtMs, stalled: stalled, stalledMs: stalledAt}
			case client.KindStalled:
				stalled, conn.stalled = true, true
				stalledAt, conn.stalledMs = r.AtMs, r.AtMs
			case client.KindReading:
				stalled, readingAt = false, r.AtMs
			case client.KindDropped:
				conn.dropped = true
			case client.KindError:
				conn.selfClose = conn.selfClose || r.Code == protocol.CodeDraining
				if r.Code == protocol.CodeBadJSON && !conn.corrupt {
					// The lab's clients send only well-formed frames, and a
					// node sends only whole ones: a frame that fails to
					// decode is the stream cut or spliced on its way.
					conn.corrupt = true
					v.add(Violation{Kind: "corrupt-stream", Client: name, AtMs: r.AtMs,
						Message: fmt.Sprintf("%s got a frame it could not decode (%s): frames were cut or dropped on its connection", name, r.Message)})
				}
			case client.KindSent:
				bodies[r.ID] = len(r.Body)
				conn.tooBig = conn.tooBig || len(r.Body)+frameOverheadBytesMin > protocol.FrameBytesMax
			case client.KindResent:
				conn.tooBig = conn.tooBig || bodies[r.ID]+frameOverheadBytesMin > protocol.FrameBytesMax
			case client.KindDisconnected:
				closes++
				counts[r.CloseCode]++
				causes := closeCauses(name, r.Event, conn, readingAt, facts)
				judgeClose(v, name, r.Event, causes)
			}
		}
	}
	detail := "no client connection was closed"
	if closes > 0 {
		detail = fmt.Sprintf("%d closes (%s)", closes, countsText(counts))
		if v.check.Violations == 0 {
			detail += ", each with the code its cause requires"
		}
	}
	return v.done(detail)
}

func judgeClose(v *verdict, name string, e client.Event, causes []closeCause) {
	if len(causes) == 0 {
		v.add(Violation{Kind: "unexplained-close", Client: name, AtMs: e.AtMs,
			Message: fmt.Sprintf("%s's connection to %s closed with %d, and no fault, drop, stall, shed or drain explains it", name, nodeText(e.Node), e.CloseCode)})
		return
	}
	whats := make([]string, 0, len(causes))
	var allowed []int
	for _, c := range causes {
		if slices.Contains(c.codes, e.CloseCode) {
			return
		}
		whats = append(whats, c.what)
		allowed = append(allowed, c.codes...)
	}
	slices.Sort(allowed)
	allowedText := make([]string, 0, len(allowed))
	for _, code := range slices.Compact(allowed) {
		allowedText = append(allowedText, fmt.Sprint(code))
	}
	v.add(Violation{Kind: "wrong-close-code", Client: name, AtMs: e.AtMs,
		Message: fmt.Sprintf("%s's connection to %s closed with %d, but its cause (%s) requires %s", name, nodeText(e.Node), e.CloseCode,
			strings.Join(whats, "; "), strings.Join(allowedText, " or "))})
}

// redisLinkOf reports whether a fault cuts or troubles node's link to
// Redis: one on the link nX-redis, or on Redis itself (every node's; a
// pub/sub outage longer than the grace takes every node's link down). A
// client its node had not greeted may have been on any node.
func (f FaultSpan) redisLinkOf(node string) bool {
	switch f.Action {
	case "partition", "delay", "loss":
		return f.Target == node+"-"+redisMember || node == "" && strings.HasSuffix(f.Target, "-"+redisMember)
	case "pause":
		return f.Target == redisMember
	case "redis-restart", "pubsub-kill":
		return true
	}
	return false
}

func nodeText(node string) string {
	if node == "" {
		return "a node that had not greeted it"
	}
	return node
}

// closeCauses lists what may have ended a connection of client name that
// closed as e. A cause counts when the close came within
// closeCauseWithinMs of it, or of the client reading again when it was
// stalled (a stalled client sees a close only once it reads).
func closeCauses(name string, e client.Event, conn connectionFacts, readingAt int64, facts Facts) []closeCause {
	var causes []closeCause
	if conn.dropped {
		causes = append(causes, closeCause{"its host dropped the connection", []int{closeAbnormal}})
	}
	if conn.selfClose {
		causes = append(causes, closeCause{"the client closed it after the node said draining", []int{closeNormal, closeAbnormal}})
	}
	if conn.tooBig {
		causes = append(causes, closeCause{"it sent a frame over the limit", []int{protocol.CloseMessageTooBig}})
	}
	if conn.stalled {
		causes = append(causes, closeCause{"it stopped reading (slow consumer)", []int{protocol.CloseReconnect}})
		stallMs := e.AtMs - conn.stalledMs
		if readingAt >= conn.stalledMs {
			stallMs = readingAt - conn.stalledMs
		}
		if facts.WriteGiveUpMs > 0 && stallMs >= facts.WriteGiveUpMs {
			causes = append(causes, closeCause{fmt.Sprintf("it stopped reading for %d ms, longer than a write may block (%d ms)", stallMs, facts.WriteGiveUpMs),
				[]int{closeAbnormal, protocol.CloseReconnect}})
		}
	}
	if facts.HostsMayLag && e.CloseReason == protocol.ReasonSlowConsumer {
		causes = append(causes, closeCause{"its node cut it off as a slow reader, and a real host's reader can lag", []int{protocol.CloseReconnect}})
	}
	seen := func(fromMs, toMs int64) bool {
		if e.AtMs < fromMs {
			return false
		}
		if conn.stalled && readingAt >= fromMs {
			// The close waited for the client to read again.
			toMs = max(toMs, readingAt)
		}
		return e.AtMs <= toMs+closeCauseWithinMs
	}
	for _, d := range facts.Decisions {
		if d.Kind == "shed" && d.User == name && (e.Node == "" || d.Backend == e.Node) && d.AtMs >= conn.fromMs-closeCauseWithinMs && seen(d.AtMs, d.AtMs) {
			causes = append(causes, closeCause{"the balancer shed it (" + d.Reason + ")", []int{protocol.CloseReconnect}})
			break
		}
	}
	lost := []int{closeAbnormal, protocol.CloseReconnect}
	for _, f := range facts.Faults {
		toMs := f.ToMs
		if !f.Healed() {
			toMs = max(e.AtMs, f.FromMs)
		}
		// A client its node had not greeted yet may have been on any node.
		onNode := f.touches(e.Node) || e.Node == "" && f.Target != balancerMember && !strings.Contains(f.Target, redisMember)
		switch f.Action {
		case "kill", "restart":
			if onNode && f.Target != "" && seen(f.FromMs, f.FromMs) {
				causes = append(causes, closeCause{f.String(), lost})
			}
		case "drain":
			if onNode && seen(f.FromMs, toMs) {
				causes = append(causes, closeCause{f.String(), []int{protocol.CloseReconnect}})
			}
			if onNode && f.Healed() && seen(f.ToMs, f.ToMs) {
				// A drained node is stopped and started again at its end.
				causes = append(causes, closeCause{f.String() + " (its restart)", lost})
			}
		case "pause", "partition", "delay", "loss":
			if f.Target == balancerMember && seen(f.FromMs, toMs) || onNode && seen(f.FromMs, toMs) {
				causes = append(causes, closeCause{f.String(), lost})
			}
		case "balancer-restart":
			if seen(f.FromMs, f.FromMs) {
				causes = append(causes, closeCause{f.String(), lost})
			}
		}
		if f.redisLinkOf(e.Node) && seen(f.FromMs, toMs) {
			causes = append(causes, closeCause{f.String() + " (its node lost Redis beyond its grace)", []int{protocol.CloseReconnect}})
		}
	}
	return causes
}
