package check

import (
	"testing"

	"chatlab/system/client"
	"chatlab/system/protocol"
)

// A client stalled past the write timeout: its node's write gives up and
// ends the connection without a close frame.
func stalledPast(stallMs int64, code int) *historyBuilder {
	return newHistory().greeted("dan", "n3").at(1000).own("dan", client.KindStalled).
		at(1000+stallMs).own("dan", client.KindReading).closed("dan", "n3", code)
}

func TestCloseCodesExplainAStallPastTheWriteTimeout(t *testing.T) {
	giveUp := Facts{WriteGiveUpMs: 1000}.withDefaults()
	expectViolations(t, checkCloseCodes(byClient(stalledPast(6000, closeAbnormal).h), giveUp), 0, "")
	expectViolations(t, checkCloseCodes(byClient(stalledPast(6000, protocol.CloseReconnect).h), giveUp), 0, "")
	// Without a write timeout the run reaches, or with a stall shorter
	// than it, only the slow-consumer cut (4000) explains the close.
	expectViolations(t, checkCloseCodes(byClient(stalledPast(6000, closeAbnormal).h), Facts{}.withDefaults()), 1, "wrong-close-code")
	expectViolations(t, checkCloseCodes(byClient(stalledPast(500, closeAbnormal).h), giveUp), 1, "wrong-close-code")
}

// A write given up halfway, or bytes a relay failed to write and dropped,
// leave the stream cut: the client reads a frame it cannot decode, or
// breaks the framing and closes with 1002 itself.
func TestCloseCodesCatchACorruptStream(t *testing.T) {
	giveUp := Facts{WriteGiveUpMs: 1000}.withDefaults()
	b := newHistory().greeted("dan", "n3").at(1000).own("dan", client.KindStalled).at(7000).own("dan", client.KindReading).
		event("dan", client.Event{Kind: client.KindError, Code: protocol.CodeBadJSON, Message: "decode node frame: unexpected end of JSON input"}).
		event("dan", client.Event{Kind: client.KindError, Code: protocol.CodeBadJSON, Message: "decode node frame: invalid character"}).
		closed("dan", "n3", closeAbnormal)
	expectViolations(t, checkCloseCodes(byClient(b.h), giveUp), 1, "corrupt-stream")

	broken := stalledPast(6000, closeProtocolError)
	expectViolations(t, checkCloseCodes(byClient(broken.h), giveUp), 1, "wrong-close-code")
	unexplained := newHistory().greeted("eve", "n1").at(3000).closed("eve", "n1", closeProtocolError)
	expectViolations(t, checkCloseCodes(byClient(unexplained.h), giveUp), 1, "unexplained-close")
}

const closeProtocolError = 1002
