package node

// Snapshot is a node's state for /state, the dashboard and the lab's
// per-host snapshots. Rooms are sorted by name.
type Snapshot struct {
	ID          string         `json:"id"`
	Delivery    Delivery       `json:"delivery"`
	Draining    bool           `json:"draining"`
	BrokerUp    bool           `json:"broker_up"`
	NowMs       int64          `json:"now_ms"`
	Connections int            `json:"connections"`
	Rooms       []RoomSnapshot `json:"rooms"`
	Counters    Counters       `json:"counters"`
}

// RoomSnapshot is one room as the node sees it.
type RoomSnapshot struct {
	Room    string `json:"room"`
	Members int    `json:"members"`
	Head    uint64 `json:"head"`
	Epoch   string `json:"epoch,omitempty"`
	Synced  bool   `json:"synced"`
}

// Snapshot returns the node's current state.
func (n *Node) Snapshot() Snapshot {
	snapshot := Snapshot{ID: n.cfg.ID, Delivery: n.cfg.Delivery, Draining: n.draining, BrokerUp: n.brokerUp,
		NowMs: n.nowMs, Connections: len(n.sessions), Counters: n.counters, Rooms: make([]RoomSnapshot, 0, len(n.roomNames))}
	for _, name := range n.roomNames {
		r := n.rooms[name]
		snapshot.Rooms = append(snapshot.Rooms, RoomSnapshot{Room: name, Members: len(r.members), Head: r.head(),
			Epoch: r.epoch, Synced: r.synced || n.cfg.Delivery == PubSub})
	}
	return snapshot
}

// Counters returns the node's running totals.
func (n *Node) Counters() Counters { return n.counters }
