package node

import (
	"fmt"

	"chatlab/system/protocol"
)

// Defaults for the limits that keep one connection from hurting the others.
const (
	// A person, or a client resuming every room it had, stays far below
	// 100 frames a second; a script flooding joins and leaves does not.
	FramesPerSecondDefault = 100
	FrameBurstDefault      = 200
	// 64 broker calls in flight per user: 64 users at their share fill the
	// runtime's queue of 4096, one cannot.
	BrokerCallsPerUserMaxDefault = 64
)

// tokenBucket is an allowance in thousandths of a token, refilled from the
// clock when a token is asked for rather than on every tick. A session has
// one for sends and one for frames of every type.
type tokenBucket struct {
	tokensMilli  int64
	refilledAtMs int64
}

// newTokenBucket is a full bucket of burst tokens at nowMs.
func newTokenBucket(burst int, nowMs int64) tokenBucket {
	return tokenBucket{tokensMilli: int64(burst) * 1000, refilledAtMs: nowMs}
}

// take spends one token if there is one, refilling first from the time
// elapsed since the last refill (a clock that goes back earns nothing).
func (b *tokenBucket) take(nowMs int64, burst, perSecond int) bool {
	if elapsedMs := nowMs - b.refilledAtMs; elapsedMs > 0 {
		b.tokensMilli = min(b.tokensMilli+elapsedMs*int64(perSecond), int64(burst)*1000)
		b.refilledAtMs = nowMs
	}
	if b.tokensMilli < 1000 {
		return false
	}
	b.tokensMilli -= 1000
	return true
}

// admitFrame spends a frame from the session's allowance. A frame over it
// is not handled: the client is told to slow down, and one that keeps on
// (FrameBurst refusals in a row) is closed with 4008.
func (n *Node) admitFrame(s *session) bool {
	if s.frames.take(n.nowMs, n.cfg.FrameBurst, n.cfg.FramesPerSecond) {
		return true
	}
	n.counters.RateLimited++
	n.refuseAbuse(s, "", fmt.Sprintf("more than %d frames per second: slow down", n.cfg.FramesPerSecond))
	return false
}

// admitBrokerCall says whether the session may start one more broker call
// (a publish, or the fetch a join of a new room needs): each user (all its
// connections together, so that reconnecting gains nothing: a closed
// connection's calls still run) has a share of the runtime's broker queue,
// so that one cannot fill it for everybody. Over its share the client is
// told to slow down.
func (n *Node) admitBrokerCall(s *session, ref string) bool {
	calls := n.brokerCalls[s.access.User]
	if calls < n.cfg.BrokerCallsPerUserMax {
		return true
	}
	n.counters.RateLimited++
	n.refuseAbuse(s, ref, fmt.Sprintf("%d broker calls in flight, this user's share: slow down and retry", calls))
	return false
}

// refuseAbuse drops a frame over a limit. The first of a row is answered
// with rate_limited (ref names the send or room); the rest are dropped
// unanswered, so that a flood cannot fill its own send queue with refusals
// and be cut off as a slow consumer instead (a dropped send is resent by
// the client's own timer). Each refusal also spends the session's
// patience: FrameBurst refusals, earned back at a tenth of the frame rate.
// A session out of patience is not slowing down, whether it floods in one
// burst or steadily above its allowance (its refusals are then not in a
// row): it is closed with 4008.
func (n *Node) refuseAbuse(s *session, ref, message string) {
	s.refusedInARow++
	s.patience.take(n.nowMs, n.cfg.FrameBurst, patienceRefill(n.cfg))
	switch {
	case s.patience.tokensMilli < 1000:
		n.counters.PolicyCloses++
		n.closeSession(s, protocol.ClosePolicy, "too many frames refused: slow down before reconnecting")
	case s.refusedInARow == 1:
		n.send(s.conn, protocol.Error{Type: protocol.TypeError, Code: protocol.CodeRateLimited, Message: message, Ref: ref})
	}
}

// patienceRefill is how many refusals a second a session earns back: a
// tenth of its frame rate, so that a client that keeps sending at twice
// its allowance is closed within a few seconds, and one refused now and
// then never is.
func patienceRefill(cfg Config) int { return max(1, cfg.FramesPerSecond/10) }

// startBrokerCall and endBrokerCall keep the count of broker calls each
// user has in flight; endBrokerCall takes the user a reply is for ("" for
// calls of the node's own).
func (n *Node) startBrokerCall(user string) { n.brokerCalls[user]++ }

func (n *Node) endBrokerCall(user string) {
	switch calls := n.brokerCalls[user]; {
	case calls > 1:
		n.brokerCalls[user] = calls - 1
	case calls == 1:
		delete(n.brokerCalls, user)
	}
}
