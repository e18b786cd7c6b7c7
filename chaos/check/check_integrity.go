package check

import (
	"fmt"

	"chatlab/system/client"
)

// checkIntegrity holds every message that reaches a client, on the wire or
// to the application, to the send it claims to be: the id names a send of
// the history, and the msg carries that send's room, body and sender (the
// user its connection was welcomed as). A node that serves one message's
// body under another's id, a replay that mixes up two messages, a
// dedupe that answers a new body with an old message, or a corrupting
// encoder, fails it; seq-based checks see none of them. Messages whose
// sender the history does not record (a flood's, an abuser's) are counted,
// not judged.
func checkIntegrity(h History) Check {
	v := newVerdict(CheckIntegrity)
	type send struct {
		client, room, body string
	}
	sends := map[string]send{}
	users := map[string]string{} // client -> the user it was welcomed as
	for _, r := range h {
		switch r.Kind {
		case client.KindSent:
			if _, seen := sends[r.ID]; !seen {
				sends[r.ID] = send{client: r.Client, room: r.Room, body: r.Body}
			}
		case client.KindWelcome:
			if r.From != "" {
				users[r.Client] = r.From
			}
		}
	}
	judged, unknown := 0, 0
	for _, r := range h {
		if r.Kind != client.KindDelivered || r.ID == "" {
			continue
		}
		s, known := sends[r.ID]
		if !known {
			unknown++
			continue
		}
		judged++
		var wrong string
		switch user := users[s.client]; {
		case r.Room != s.room:
			wrong = fmt.Sprintf("in room %s, but it was sent to %s", r.Room, s.room)
		case r.Body != s.body:
			wrong = fmt.Sprintf("with body %q, but %s sent %q", clip(r.Body), s.client, clip(s.body))
		case user != "" && r.From != user:
			wrong = fmt.Sprintf("from %q, but %s is %q", r.From, s.client, user)
		default:
			continue
		}
		v.add(Violation{Kind: "not-as-sent", Client: r.Client, Room: r.Room, Epoch: r.Epoch, Seq: r.Seq, ID: r.ID, AtMs: r.AtMs,
			Message: fmt.Sprintf("%s got %s (seq %d) %s", r.Client, r.ID, r.Seq, wrong)})
	}
	detail := fmt.Sprintf("%d messages received, each as its sender sent it", judged)
	if v.check.Violations > 0 {
		detail = fmt.Sprintf("%d messages received, %d not as their sender sent them", judged, v.check.Violations)
	}
	if unknown > 0 {
		detail += fmt.Sprintf("; %d from senders the history does not record", unknown)
	}
	return v.done(detail)
}

// clipBytesMax bounds a body quoted in a violation.
const clipBytesMax = 40

func clip(body string) string {
	if len(body) <= clipBytesMax {
		return body
	}
	return body[:clipBytesMax] + "…"
}
