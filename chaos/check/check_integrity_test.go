package check

import (
	"strings"
	"testing"

	"chatlab/system/client"
)

func TestIntegrityPassesMessagesAsSent(t *testing.T) {
	expectViolations(t, checkIntegrity(cleanRoom(trio, 10).h), 0, "")
}

// A message received with another body, in another room or from another
// user than its id's send had is caught, on the wire (a discarded
// duplicate) as well as by the application.
func TestIntegrityCatchesAMessageNotAsSent(t *testing.T) {
	cases := map[string]func(e *client.Event){
		"another body":   func(e *client.Event) { e.Body = "body of somebody else's message" },
		"another room":   func(e *client.Event) { e.Room = "elsewhere" },
		"another sender": func(e *client.Event) { e.From = "mallory" },
		"a discarded duplicate with another body": func(e *client.Event) {
			e.Body, e.Duplicate = "stale body", true
		},
	}
	for name, corrupt := range cases {
		t.Run(name, func(t *testing.T) {
			h := cleanRoom(trio, 10).h
			corrupted := 0
			for i := range h {
				if h[i].Kind == client.KindDelivered && h[i].ID == "b-4" && h[i].Client == "c" {
					corrupt(&h[i].Event)
					corrupted++
				}
			}
			if corrupted != 1 {
				t.Fatalf("corrupted %d deliveries", corrupted)
			}
			expectViolations(t, checkIntegrity(h), 1, "not-as-sent")
		})
	}
}

// A message from a sender the history does not record (a flood's) is
// counted, not judged.
func TestIntegrityLeavesUnrecordedSendersAlone(t *testing.T) {
	b := cleanRoom(trio, 3)
	b.deliver("a", "r", 4, "flood1-1", "e1")
	c := checkIntegrity(b.h)
	expectViolations(t, c, 0, "")
	if want := "1 from senders the history does not record"; !strings.Contains(c.Detail, want) {
		t.Fatalf("detail %q, want it to say %q", c.Detail, want)
	}
}
