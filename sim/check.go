package sim

import (
	"fmt"
	"slices"
	"time"

	"chatlab/system/client"
)

// violationsMax bounds the violations a report spells out; the counts
// cover them all.
const violationsMax = 20

// DeliveryReport is the outcome of CheckDelivery.
type DeliveryReport struct {
	Sent, Acked, Delivered int
	Lost, Duplicated       int
	Reordered              int
	Violations             []string
}

// OK reports whether nothing was lost, duplicated or reordered.
func (r DeliveryReport) OK() bool { return r.Lost == 0 && r.Duplicated == 0 && r.Reordered == 0 }

func (r *DeliveryReport) violate(format string, args ...any) {
	if len(r.Violations) < violationsMax {
		r.Violations = append(r.Violations, fmt.Sprintf(format, args...))
	}
}

type messageKey struct{ room, id string }

// CheckDelivery is a simple check of a history (the chaos runner has the
// full checkers): every acked message reached every client that had joined
// its room before it was sent and never left; no client got a message
// twice (deliveries the client itself flagged Duplicate were dropped by it
// and do not count); every client saw each room's messages in one order,
// by seq where there is one, otherwise the order of the client that saw
// the most.
func CheckDelivery(history []HistoryEvent) DeliveryReport {
	var report DeliveryReport
	sentAt := map[messageKey]time.Duration{}
	var acked []messageKey
	joinedAt := map[string]map[string]time.Duration{} // client -> room -> first joined
	left := map[string]map[string]bool{}
	delivered := map[string]map[messageKey]bool{}
	sequences := map[string]map[string][]client.Event{} // client -> room -> deliveries
	var clients []string
	for _, e := range history {
		if delivered[e.Client] == nil {
			clients = append(clients, e.Client)
			delivered[e.Client] = map[messageKey]bool{}
			sequences[e.Client] = map[string][]client.Event{}
			joinedAt[e.Client] = map[string]time.Duration{}
			left[e.Client] = map[string]bool{}
		}
		key := messageKey{e.Room, e.ID}
		switch e.Kind {
		case client.KindSent:
			report.Sent++
			sentAt[key] = e.At
		case client.KindAcked:
			report.Acked++
			acked = append(acked, key)
		case client.KindLeft:
			left[e.Client][e.Room] = true
		case client.KindJoined:
			if _, ok := joinedAt[e.Client][e.Room]; !ok {
				joinedAt[e.Client][e.Room] = e.At
			}
		case client.KindDelivered:
			if e.Duplicate {
				continue
			}
			report.Delivered++
			if delivered[e.Client][key] {
				report.Duplicated++
				report.violate("%s got %s in %s twice", e.Client, e.ID, e.Room)
				continue
			}
			delivered[e.Client][key] = true
			sequences[e.Client][e.Room] = append(sequences[e.Client][e.Room], e.Event)
		}
	}
	for _, key := range acked {
		for _, name := range clients {
			joined, ok := joinedAt[name][key.room]
			if !ok || joined >= sentAt[key] || left[name][key.room] || delivered[name][key] {
				continue
			}
			report.Lost++
			report.violate("%s never got acked %s in %s", name, key.id, key.room)
		}
	}
	checkOrder(clients, sequences, &report)
	return report
}

func checkOrder(clients []string, sequences map[string]map[string][]client.Event, report *DeliveryReport) {
	rooms := map[string]bool{}
	for _, name := range clients {
		for room := range sequences[name] { // map order: collected into a set, sorted below
			rooms[room] = true
		}
	}
	names := make([]string, 0, len(rooms))
	for room := range rooms { // map order: sorted below
		names = append(names, room)
	}
	slices.Sort(names)
	for _, room := range names {
		position := referencePositions(clients, sequences, room)
		for _, name := range clients {
			last, lastID := -1, ""
			for _, e := range sequences[name][room] {
				at, ok := position[e.ID]
				if !ok {
					continue
				}
				if at < last {
					report.Reordered++
					report.violate("%s got %s after %s in %s, against the room's order", name, e.ID, lastID, room)
				}
				last, lastID = at, e.ID
			}
		}
	}
}

// referencePositions orders a room's messages by seq, or where messages
// have none (pubsub), by the deliveries of the client that saw the most.
func referencePositions(clients []string, sequences map[string]map[string][]client.Event, room string) map[string]int {
	position := map[string]int{}
	var longest []client.Event
	for _, name := range clients {
		list := sequences[name][room]
		if len(list) > len(longest) {
			longest = list
		}
		for _, e := range list {
			if e.Seq > 0 {
				position[e.ID] = int(e.Seq)
			}
		}
	}
	if len(position) > 0 {
		return position
	}
	for i, e := range longest {
		position[e.ID] = i
	}
	return position
}
