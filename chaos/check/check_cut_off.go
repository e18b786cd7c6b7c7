package check

import (
	"fmt"

	"chatlab/system/client"
	"chatlab/system/protocol"
)

// roomPosition is where a client stands in a room: the last seq it was
// given and in which epoch.
type roomPosition struct {
	joined bool
	seq    uint64
	epoch  string
}

// stallCase is one stall of one client, as its records tell it.
type stallCase struct {
	client        string
	fromMs, toMs  int64 // toMs: reading again, or -1 for never
	online        bool  // connected at some point of the stall
	droppedMs     int64 // when the client dropped its connection itself before any cut-off (-1: never)
	cut           *client.Event
	positions     map[string]roomPosition // at the cut
	resumedRooms  map[string]bool         // rooms whose first delivery or reset after the cut was judged
	rejoined      map[string]bool         // rooms joined again after the cut
	gaps          []string
	reconnectedMs int64
}

// checkCutOff holds every stalled client (a slow consumer) to what its
// node owes it: its connection is cut off with 4000 (reconnect) at the
// latest CutOffWithinMs after it reads again, and it then reconnects,
// joins each of its rooms again and goes on from the seq after the last
// one it had, or a reset, losing nothing. A stall whose connection the
// client dropped itself (the workload's reconnects) before its cut-off was
// due is not judged: that connection ended by the client's hand, before
// the node owed it a cut-off.
func checkCutOff(clients clientRecords, facts Facts) Check {
	v := newVerdict(CheckCutOff)
	names, records := clients.names, clients.records
	stalls, cut := 0, 0
	for _, name := range names {
		for _, s := range stallsOf(name, records[name]) {
			if !s.online || s.droppedMs >= 0 && (s.toMs < 0 || s.droppedMs <= s.toMs+facts.CutOffWithinMs) {
				continue // offline throughout, or its connection ended by its own hand before the cut-off was due
			}
			stalls++
			if judgeStall(v, s, facts.CutOffWithinMs) {
				cut++
			}
		}
	}
	if stalls == 0 {
		return v.done("no connected client was stalled")
	}
	return v.done(fmt.Sprintf("%d of %d stalled clients cut off with %d within %.1fs of reading again, each resumed with nothing lost",
		cut, stalls, protocol.CloseReconnect, float64(facts.CutOffWithinMs)/1000))
}

// stallsOf follows one client's records: each stall, its first close
// after the stall began, and what the client got after that close.
func stallsOf(name string, records []Record) []*stallCase {
	var stalls []*stallCase
	var current *stallCase // the stall whose cut or resume is being followed
	positions := map[string]roomPosition{}
	online := false
	for _, r := range records {
		switch r.Kind {
		case client.KindStalled:
			current = &stallCase{client: name, fromMs: r.AtMs, toMs: -1, online: online, droppedMs: -1}
			stalls = append(stalls, current)
		case client.KindReading:
			if current != nil && current.toMs < 0 {
				current.toMs = r.AtMs
			}
		case client.KindConnected:
			online = true
			if current != nil && current.cut == nil {
				current.online = true
			}
			if current != nil && current.cut != nil && current.reconnectedMs < 0 {
				current.reconnectedMs = r.AtMs
			}
		case client.KindDropped:
			// The close a drop causes may be recorded at the same
			// millisecond, before or after it.
			if current != nil && (current.cut == nil || current.cut.AtMs == r.AtMs) && current.droppedMs < 0 {
				current.droppedMs = r.AtMs
			}
		case client.KindDisconnected:
			online = false
			if current != nil && current.cut == nil {
				event := r.Event
				current.cut, current.reconnectedMs = &event, -1
				current.positions = map[string]roomPosition{}
				for room, p := range positions {
					current.positions[room] = p
				}
				current.resumedRooms, current.rejoined = map[string]bool{}, map[string]bool{}
			}
			for room, p := range positions {
				p.joined = false
				positions[room] = p
			}
		case client.KindJoined:
			if current != nil && current.rejoined != nil {
				current.rejoined[r.Room] = true
			}
			p := positions[r.Room]
			p.joined = true
			if r.Epoch != p.epoch && p.epoch != "" {
				p.seq = 0 // a new epoch: the old seqs say nothing
			}
			p.epoch = r.Epoch
			positions[r.Room] = p
		case client.KindLeft:
			delete(positions, r.Room)
			if current != nil && current.positions != nil {
				delete(current.positions, r.Room)
			}
		case client.KindReset:
			p := positions[r.Room]
			p.seq, p.epoch = r.Seq-1, r.Epoch
			if r.Seq == 0 {
				p.seq = 0
			}
			positions[r.Room] = p
			if current != nil && current.positions != nil {
				current.resumedRooms[r.Room] = true
			}
		case client.KindDelivered:
			if r.Duplicate || r.Seq == 0 {
				continue
			}
			p := positions[r.Room]
			if current != nil && current.positions != nil && !current.resumedRooms[r.Room] {
				if before, ok := current.positions[r.Room]; ok {
					current.resumedRooms[r.Room] = true
					if before.seq > 0 && before.epoch == r.Epoch && r.Seq != before.seq+1 {
						current.gaps = append(current.gaps, fmt.Sprintf("room %s went on at seq %d after %d", r.Room, r.Seq, before.seq))
					}
				}
			}
			p.seq, p.epoch = r.Seq, r.Epoch
			positions[r.Room] = p
		}
	}
	return stalls
}

// judgeStall adds the stall's violations and reports whether it was cut
// off as it must be.
func judgeStall(v *verdict, s *stallCase, withinMs int64) bool {
	limit := "the end of the run"
	if s.toMs >= 0 {
		limit = fmt.Sprintf("%.3fs", float64(s.toMs+withinMs)/1000)
	}
	switch {
	case s.cut == nil:
		v.add(Violation{Kind: "not-cut-off", Client: s.client, AtMs: s.fromMs,
			Message: fmt.Sprintf("%s stopped reading at %.3fs and was never cut off", s.client, float64(s.fromMs)/1000)})
		return false
	case s.toMs >= 0 && s.cut.AtMs > s.toMs+withinMs:
		v.add(Violation{Kind: "cut-off-late", Client: s.client, AtMs: s.cut.AtMs,
			Message: fmt.Sprintf("%s stopped reading at %.3fs and saw its cut-off only at %.3fs, after %s", s.client,
				float64(s.fromMs)/1000, float64(s.cut.AtMs)/1000, limit)})
		return false
	case s.cut.CloseCode != protocol.CloseReconnect:
		v.add(Violation{Kind: "cut-off-code", Client: s.client, AtMs: s.cut.AtMs,
			Message: fmt.Sprintf("%s stopped reading at %.3fs and its connection to %s ended with %d, not %d (reconnect)", s.client,
				float64(s.fromMs)/1000, nodeText(s.cut.Node), s.cut.CloseCode, protocol.CloseReconnect)})
		return false
	}
	if s.reconnectedMs < 0 {
		v.add(Violation{Kind: "not-resumed", Client: s.client, AtMs: s.cut.AtMs,
			Message: fmt.Sprintf("%s was cut off at %.3fs and never connected again", s.client, float64(s.cut.AtMs)/1000)})
		return true
	}
	for room, p := range s.positions {
		if p.joined && !s.rejoined[room] {
			v.add(Violation{Kind: "not-resumed", Client: s.client, Room: room, AtMs: s.cut.AtMs,
				Message: fmt.Sprintf("%s was cut off at %.3fs and never joined room %s again", s.client, float64(s.cut.AtMs)/1000, room)})
		}
	}
	for _, gap := range s.gaps {
		v.add(Violation{Kind: "resume-gap", Client: s.client, AtMs: s.cut.AtMs,
			Message: fmt.Sprintf("%s was cut off at %.3fs and lost messages on resuming: %s", s.client, float64(s.cut.AtMs)/1000, gap)})
	}
	return true
}
