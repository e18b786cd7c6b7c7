package client

// Counters are totals since the client was made.
type Counters struct {
	FramesIn      uint64 `json:"frames_in"`
	FramesOut     uint64 `json:"frames_out"`
	Delivered     uint64 `json:"delivered"`
	Duplicates    uint64 `json:"duplicates"`
	DuplicateAcks uint64 `json:"duplicate_acks"`
	Resends       uint64 `json:"resends"`
	SendsFailed   uint64 `json:"sends_failed"`
	Errors        uint64 `json:"errors"`
	StrayFrames   uint64 `json:"stray_frames"`
	BadFrames     uint64 `json:"bad_frames"`
	DialFailures  uint64 `json:"dial_failures"`
}

// RoomSnapshot is one room's state. LastSeq is meaningful when HasSeq.
type RoomSnapshot struct {
	Room    string `json:"room"`
	HasSeq  bool   `json:"has_seq"`
	LastSeq uint64 `json:"last_seq"`
	Epoch   string `json:"epoch,omitempty"`
	Joined  bool   `json:"joined"`
	Head    uint64 `json:"head"`
}

// PendingSnapshot is one unacked send.
type PendingSnapshot struct {
	ID       string `json:"id"`
	Room     string `json:"room"`
	Attempts int    `json:"attempts"`
	InFlight bool   `json:"in_flight"`
}

// Snapshot is the client's state, JSON-friendly, rooms in name order and
// pending sends in id order.
type Snapshot struct {
	Name      string `json:"name"`
	User      string `json:"user"`
	State     string `json:"state"`
	Connected bool   `json:"connected"`
	Node      string `json:"node,omitempty"`
	Draining  bool   `json:"draining"`
	// Reconnects counts connections after the first.
	Reconnects int               `json:"reconnects"`
	Failures   int               `json:"failures"`
	Rooms      []RoomSnapshot    `json:"rooms"`
	Pending    []PendingSnapshot `json:"pending"`
	Counters   Counters          `json:"counters"`
}

// Snapshot returns the client's state.
func (c *Client) Snapshot() Snapshot {
	s := Snapshot{Name: c.cfg.Name, User: c.cfg.User, State: c.state.String(), Connected: c.state == stateConnected,
		Node: c.node, Draining: c.draining, Reconnects: max(c.connections-1, 0), Failures: c.failures,
		Rooms: make([]RoomSnapshot, 0, len(c.roomNames)), Pending: make([]PendingSnapshot, 0, len(c.pending)),
		Counters: c.counters}
	for _, name := range c.roomNames {
		r := c.rooms[name]
		s.Rooms = append(s.Rooms, RoomSnapshot{Room: name, HasSeq: r.hasSeq, LastSeq: r.lastSeq, Epoch: r.epoch,
			Joined: r.joined, Head: r.head})
	}
	for _, p := range c.pending {
		s.Pending = append(s.Pending, PendingSnapshot{ID: p.id, Room: p.room, Attempts: p.attempts, InFlight: p.inFlight})
	}
	return s
}
