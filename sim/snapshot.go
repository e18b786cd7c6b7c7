package sim

import (
	"slices"
	"strings"
	"time"

	"chatlab/system/balance"
	"chatlab/system/client"
	"chatlab/system/node"
)

// Snapshot is every host's state at one virtual time.
type Snapshot struct {
	At       time.Duration     `json:"at"`
	Nodes    []NodeState       `json:"nodes"`
	Balancer *BalancerState    `json:"balancer,omitempty"`
	Redis    RedisState        `json:"redis"`
	Clients  []client.Snapshot `json:"clients"`
}

// NodeState is a node host's process state and, while it runs, the node's.
type NodeState struct {
	Name   string         `json:"name"`
	Up     bool           `json:"up"`
	Paused bool           `json:"paused"`
	Node   *node.Snapshot `json:"node,omitempty"`
}

// BalancerState is the balancer host's process state and, while it runs,
// the balancer's.
type BalancerState struct {
	Up       bool              `json:"up"`
	Paused   bool              `json:"paused"`
	Balancer *balance.Snapshot `json:"balancer,omitempty"`
}

// RedisState is Redis's process state and each room's head, rooms sorted.
type RedisState struct {
	Up     bool        `json:"up"`
	Paused bool        `json:"paused"`
	Rooms  []RedisRoom `json:"rooms"`
}

// RedisRoom is one room's head and epoch in Redis.
type RedisRoom struct {
	Room  string `json:"room"`
	Head  uint64 `json:"head"`
	Epoch string `json:"epoch"`
}

// Snapshots are the recorded host states, every SnapshotInterval.
func (c *Cluster) Snapshots() []Snapshot { return c.snapshots }

func (c *Cluster) scheduleSnapshot() {
	c.world.After(c.topology.SnapshotInterval, "snapshot", "", 0, func() {
		c.snapshots = append(c.snapshots, c.Snapshot())
		c.scheduleSnapshot()
	})
}

// Snapshot takes every host's state now.
func (c *Cluster) Snapshot() Snapshot {
	s := Snapshot{At: c.world.now}
	if rc := c.redisCluster; rc != nil {
		s.Redis = rc.state()
	} else {
		s.Redis = RedisState{Up: c.redis.host.up, Paused: c.redis.host.paused, Rooms: c.store.roomStates()}
	}
	for _, h := range c.nodes {
		state := NodeState{Name: h.name, Up: h.host.up, Paused: h.host.paused}
		if h.node != nil {
			snapshot := h.node.Snapshot()
			state.Node = &snapshot
		}
		s.Nodes = append(s.Nodes, state)
	}
	if c.balancer != nil {
		state := &BalancerState{Up: c.balancer.host.up, Paused: c.balancer.host.paused}
		if c.balancer.balancer != nil {
			snapshot := c.balancer.balancer.Snapshot()
			state.Balancer = &snapshot
		}
		s.Balancer = state
	}
	for _, h := range c.clients {
		s.Clients = append(s.Clients, h.client.Snapshot())
	}
	return s
}

// state is a Redis Cluster's as one Redis's: up when every server is,
// paused when one is, each room's head and epoch on its shard's master.
func (rc *redisCluster) state() RedisState {
	state := RedisState{Up: true}
	for _, server := range rc.servers {
		state.Up = state.Up && server.host.up
		state.Paused = state.Paused || server.host.paused
	}
	for _, master := range rc.masters {
		for _, room := range master.store.roomStates() {
			if rc.roomShard(room.Room) == master.shard {
				state.Rooms = append(state.Rooms, room)
			}
		}
	}
	slices.SortFunc(state.Rooms, func(a, b RedisRoom) int { return strings.Compare(a.Room, b.Room) })
	return state
}

// roomStates lists every room's head and epoch, sorted by room.
func (r *Redis) roomStates() []RedisRoom {
	names := make([]string, 0, len(r.rooms))
	for name := range r.rooms { // map order: sorted below
		names = append(names, name)
	}
	slices.Sort(names)
	rooms := make([]RedisRoom, 0, len(names))
	for _, name := range names {
		head, epoch := r.Head(name)
		if head == 0 && epoch == "" {
			continue // gone with an expiry or a DEL
		}
		rooms = append(rooms, RedisRoom{Room: name, Head: head, Epoch: epoch})
	}
	return rooms
}
