package sim

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"chatlab/system/broker/redisscript"
	"chatlab/system/node"
)

// A node host on a Redis Cluster does what system/broker does there
// (broker_cluster.go, broker_cluster_link.go, broker_replicas.go):
//   - its slot map names each shard's master as it last loaded it; a failed
//     call or link session loads it again (go-redis learns of a promoted
//     replica only so), a MOVED answer is followed at once (up to
//     clusterRedirectsMax times), as go-redis follows it;
//   - calls go to the master of their room's slot, on one command
//     connection per server, dialed when first needed;
//   - with replica acks a publish is its script (which publishes nothing),
//     then WAIT, then SPUBLISH of the message the script handed back; a
//     fetch is its script (which writes) then WAIT; fewer replicas than
//     asked fail the call (errNotReplicated), and the node retries;
//   - the pub/sub link's session is one connection per master serving a
//     held room, each room SSUBSCRIBEd on its master; it is up once every
//     connection answered its first PING; it ends when any connection
//     fails or stays silent, or a master refuses a room (MOVED).

// clusterRedirectsMax is go-redis's MaxRedirects default.
const clusterRedirectsMax = 3

// errNotReplicated is the broker's ErrNotReplicated.
var errNotReplicated = errors.New("sim: the write did not reach enough replicas")

// serverConn is a node host's command connection to one server.
type serverConn struct {
	conn *Conn
	open bool
	// waiting are the calls written once the dial completes.
	waiting []node.RequestID
}

// linkShard is one connection of a cluster link session.
type linkShard struct {
	conn   *Conn
	server *RedisHost
	ponged bool
	heard  time.Duration // when it last heard anything
	// rooms to SSUBSCRIBE once connected.
	rooms []string
}

// clusterCallState is what a call on a Redis Cluster carries between its
// steps.
type clusterCallState struct {
	shard     int
	server    int
	step      int    // 0 the script, 1 WAIT, 2 SPUBLISH
	result    any    // the script's reply
	held      string // with replica acks: the message to SPUBLISH
	redirects int
}

func (h *NodeHost) redisCluster() *redisCluster { return h.cluster.redisCluster }

// loadSlots takes the cluster's slot map as it is now.
func (h *NodeHost) loadSlots() {
	rc := h.redisCluster()
	h.slots, h.slotOwners = slices.Clone(rc.masters), make(map[int]int, len(rc.moved))
	for slot, shard := range rc.moved { // map order: copied into a map, nothing else
		h.slotOwners[slot] = shard
	}
}

// shardOf is the shard of key's slot by the node's slot map.
func (h *NodeHost) shardOf(key string) int {
	return slotShard(redisscript.Slot(key), h.redisCluster().lastSlots, h.slotOwners)
}

// roomShard is the shard of room's keys by the node's slot map.
func (h *NodeHost) roomShard(room string) int { return h.shardOf(redisscript.KeysOf(room).Seq) }

// learnOwner takes a MOVED answer into the slot map: server serves slot
// and is its shard's master.
func (h *NodeHost) learnOwner(slot int, server *RedisHost) {
	h.slots[server.shard] = server
	if lastSlots := h.redisCluster().lastSlots; slotShard(slot, lastSlots, nil) == server.shard {
		delete(h.slotOwners, slot)
	} else {
		h.slotOwners[slot] = server.shard
	}
}

// reloadSlots loads the slot map again after a round trip to the cluster.
func (h *NodeHost) reloadSlots() {
	if h.slotsReloading {
		return
	}
	h.slotsReloading = true
	h.cluster.world.on(h.host, 2*h.cluster.network.standard.Latency, "slots-reload", 0, func() {
		h.slotsReloading = false
		h.loadSlots()
	})
}

// clusterCall shapes a publish or fetch call for the cluster.
func (h *NodeHost) clusterCall(call redisCall, room string) redisCall {
	spec := h.redisCluster().spec
	script := *call.script
	if call.fetch {
		if spec.EpochFence {
			script = redisscript.FetchFenced(script, room)
		}
		if spec.ReplicasAck > 0 {
			script = redisscript.FetchBeforeWait(script)
		}
	} else {
		script = redisscript.Sharded(script, room)
		if spec.EpochFence {
			script = redisscript.PublishFenced(script, room)
		}
		if spec.ReplicasAck > 0 {
			script = redisscript.PublishAfterWait(script)
		}
	}
	call.script = &script
	return call
}

// sendToShard sends a call to the master of its room's shard.
func (h *NodeHost) sendToShard(call brokerCall) {
	call.deadline = h.cluster.world.now + brokerRequestTimeout
	h.calls.inFlight = append(h.calls.inFlight, call)
	shard := h.roomShard(call.room)
	state := &clusterCallState{shard: shard, server: h.slots[shard].index}
	h.calls.sent[call.id] = &sentCall{call: call, state: state}
	h.writeCall(call.id)
}

// sentCall is a call on its way through the cluster.
type sentCall struct {
	call  brokerCall
	state *clusterCallState
}

// writeCall writes a sent call's current step to its server, dialing the
// server first if needed.
func (h *NodeHost) writeCall(id node.RequestID) {
	sent := h.calls.sent[id]
	server := h.redisCluster().servers[sent.state.server]
	sc := &h.calls.servers[server.index]
	if sc.conn == nil {
		sc.conn, sc.open = h.cluster.network.Dial(h, server, ""), false
	}
	if !sc.open {
		sc.waiting = append(sc.waiting, id)
		return
	}
	call := sent.call.call
	h.cluster.network.Write(sc.conn, h.host, call, redisOverheadBytes+call.bytes(), call.digest())
}

// serverOf is the server index of a command connection, or -1.
func (h *NodeHost) serverOf(c *Conn) int {
	for i := range h.calls.servers {
		if h.calls.servers[i].conn == c {
			return i
		}
	}
	return -1
}

func (h *NodeHost) serverConnected(i int) {
	sc := &h.calls.servers[i]
	sc.open = true
	waiting := sc.waiting
	sc.waiting = nil
	for _, id := range waiting {
		if sent := h.calls.sent[id]; sent != nil && sent.state.server == i {
			h.writeCall(id)
		}
	}
}

// serverLost: a command connection failed (or its dial did): its calls
// fail, as they may have been applied, and the slot map is reloaded.
func (h *NodeHost) serverLost(i int) {
	h.calls.servers[i] = serverConn{}
	for _, call := range slices.Clone(h.calls.inFlight) {
		if sent := h.calls.sent[call.id]; sent != nil && sent.state.server == i {
			h.finishCall(call.id, call.call.fetch, nil, errBrokerDown)
		}
	}
	h.reloadSlots()
}

// clusterAnswered takes one step's answer: a MOVED is followed, a failure
// fails the call and reloads the slot map, a script's answer with replica
// acks goes on to WAIT and SPUBLISH.
func (h *NodeHost) clusterAnswered(a redisAnswer) {
	sent := h.calls.sent[a.request]
	if sent == nil {
		return // timed out, or its connection failed
	}
	state := sent.state
	if a.err != nil {
		if slot, target, ok := movedTo(a.err); ok && state.redirects < clusterRedirectsMax {
			if server := h.cluster.redisServer(target); server != nil {
				state.redirects++
				h.movedFollowed++
				state.server, state.shard = server.index, server.shard
				h.learnOwner(slot, server)
				h.writeCall(a.request)
				return
			}
		}
		h.reloadSlots()
		h.finishCall(a.request, a.fetch, nil, a.err)
		return
	}
	spec := h.redisCluster().spec
	if spec.ReplicasAck == 0 {
		h.finishCall(a.request, a.fetch, a.result, nil)
		return
	}
	switch state.step {
	case 0:
		state.result = a.result
		if !a.fetch {
			result, _ := a.result.([]any)
			reply, held, err := redisscript.PublishReplyHeld(result)
			if err != nil || reply.Conflict {
				h.finishCall(a.request, false, trimmed(result), err)
				return
			}
			state.held = held
		}
		state.step = 1
		sent.call.call = redisCall{request: a.request, fetch: a.fetch,
			wait: &redisWaitCall{replicas: spec.ReplicasAck, timeout: spec.ReplicasAckTimeout}}
		h.writeCall(a.request)
	case 1:
		if count, _ := a.result.(int64); int(count) < spec.ReplicasAck {
			h.finishCall(a.request, a.fetch, nil, fmt.Errorf("%w: %d of %d", errNotReplicated, count, spec.ReplicasAck))
			return
		}
		if a.fetch || state.held == "" {
			h.finishCall(a.request, a.fetch, trimmed(state.result), nil)
			return
		}
		state.step = 2
		sent.call.call = redisCall{request: a.request,
			command: []string{"SPUBLISH", redisscript.ShardChannel(sent.call.room), state.held}}
		h.writeCall(a.request)
	default:
		h.finishCall(a.request, false, trimmed(state.result), nil)
	}
}

// trimmed is a publish script's reply without the held message, as the
// reply reader wants it; other replies as they are.
func trimmed(result any) any {
	if values, ok := result.([]any); ok && len(values) == 4 {
		if _, isMessage := values[3].(string); isMessage {
			return values[:3]
		}
	}
	return result
}

// movedTo reads a MOVED error: the slot and the server to go to.
func movedTo(err error) (int, string, bool) {
	var redisErr RedisError
	if !errors.As(err, &redisErr) || !strings.HasPrefix(string(redisErr), "MOVED ") {
		return 0, "", false
	}
	fields := strings.Fields(string(redisErr))
	if len(fields) != 3 {
		return 0, "", false
	}
	slot, err := strconv.Atoi(fields[1])
	if err != nil {
		return 0, "", false
	}
	return slot, fields[2], true
}

// --- the cluster link ---

// clusterDialLink starts a session: a connection to the master of every
// held room (or, holding none, to one master), each room subscribed on
// its master once connected, then each connection pinged.
func (h *NodeHost) clusterDialLink() {
	link := &h.link
	link.active, link.up = true, false
	link.shards, link.roomShard = nil, map[string]*linkShard{}
	if link.subscribesPending == nil {
		link.subscribesPending = map[string]int{}
	}
	if len(link.wanted) == 0 {
		h.linkShardFor(h.slots[h.shardOf(redisscript.KeyPrefix+"link-probe")])
	}
	for _, room := range link.wanted {
		shard := h.linkShardFor(h.slots[h.roomShard(room)])
		shard.rooms = append(shard.rooms, room)
		link.roomShard[room] = shard
	}
}

// linkShardFor is the session's connection to server, dialed if it has
// none yet.
func (h *NodeHost) linkShardFor(server *RedisHost) *linkShard {
	for _, shard := range h.link.shards {
		if shard.server == server {
			return shard
		}
	}
	shard := &linkShard{server: server, conn: h.cluster.network.Dial(h, server, "")}
	h.link.shards = append(h.link.shards, shard)
	return shard
}

// linkShardOf is the session's shard on connection c, or nil.
func (h *NodeHost) linkShardOf(c *Conn) *linkShard {
	for _, shard := range h.link.shards {
		if shard.conn == c {
			return shard
		}
	}
	return nil
}

func (h *NodeHost) clusterLinkConnected(shard *linkShard) {
	shard.heard = h.cluster.world.now
	for _, room := range shard.rooms {
		h.writeShard(shard, redisSubscribe{channels: []string{redisscript.ShardChannel(room)}})
	}
	shard.rooms = nil
	h.writeShard(shard, redisPing{})
	h.scheduleShardPing(shard)
}

func (h *NodeHost) writeShard(shard *linkShard, command redisSubscription) {
	h.cluster.network.Write(shard.conn, h.host, command, command.bytes(), command.digest())
}

// scheduleShardPing pings a session's connection every linkPingInterval
// and ends the session after linkTimeout of silence on it.
func (h *NodeHost) scheduleShardPing(shard *linkShard) {
	h.cluster.world.on(h.host, linkPingInterval, "link-ping", shard.conn.ID, func() {
		if h.linkShardOf(shard.conn) != shard {
			return // that session is over
		}
		if h.cluster.world.now-shard.heard >= linkTimeout {
			h.advance()
			h.clusterLinkLost()
			h.flush()
			return
		}
		h.writeShard(shard, redisPing{})
		h.scheduleShardPing(shard)
	})
}

func (h *NodeHost) clusterLinkReceive(shard *linkShard, payload any) {
	link := &h.link
	shard.heard = h.cluster.world.now
	switch reply := payload.(type) {
	case redisPong:
		shard.ponged = true
		if !link.up && h.allPonged() {
			h.sessionUp()
		}
	case redisSubscribed:
		for _, channel := range reply.channels {
			room, _ := redisscript.RoomOfShardChannel(channel)
			h.confirmed(room)
		}
	case redisSubscribeRefused:
		h.clusterLinkLost()
	case redisSlotUnsubscribed:
		// The room's slot left that master: its messages go elsewhere
		// now. A held room ends the session, as broker_cluster_link's
		// errSlotMoved does; the next one subscribes it on the new owner
		// and the node catches the room up.
		room, _ := redisscript.RoomOfShardChannel(reply.channel)
		if link.roomShard[room] == shard {
			h.slotsUnsubscribed++
			h.clusterLinkLost()
		}
	case redisMessage:
		room, ok := redisscript.RoomOfShardChannel(reply.channel)
		if !ok {
			panic("sim: a message on a channel that is no room's shard channel: " + reply.channel)
		}
		h.linkMessage(redisMessage{channel: redisscript.Channel(room), payload: reply.payload, decoded: reply.decoded})
	default:
		panic("sim: node host got an unknown reply on its pub/sub link")
	}
}

func (h *NodeHost) allPonged() bool {
	for _, shard := range h.link.shards {
		if !shard.ponged {
			return false
		}
	}
	return true
}

// clusterLinkLost ends the session: every connection of it is closed, the
// slot map reloaded, and the rest is linkLost's.
func (h *NodeHost) clusterLinkLost() {
	link := &h.link
	if !link.active {
		return
	}
	shards := link.shards
	link.active, link.shards, link.roomShard = false, nil, nil
	for _, shard := range shards {
		if shard.conn.state != closed {
			h.cluster.network.Close(shard.conn, h.host, CloseAbnormal)
		}
	}
	h.reloadSlots()
	h.linkLost()
}

// clusterSubscribe subscribes a room in the session now: on its master's
// connection, opened if the session has none.
func (h *NodeHost) clusterSubscribe(room string) {
	link := &h.link
	if !link.active {
		return // the next session subscribes it
	}
	shard := h.linkShardFor(h.slots[h.roomShard(room)])
	link.roomShard[room] = shard
	link.subscribesPending[room]++
	link.waiters = append(link.waiters, room)
	if shard.conn.Open() {
		h.writeShard(shard, redisSubscribe{channels: []string{redisscript.ShardChannel(room)}})
		return
	}
	shard.rooms = append(shard.rooms, room)
}

func (h *NodeHost) clusterUnsubscribe(room string) {
	link := &h.link
	shard := link.roomShard[room]
	if shard == nil {
		return
	}
	delete(link.roomShard, room)
	shard.rooms = slices.DeleteFunc(shard.rooms, func(r string) bool { return r == room })
	if shard.conn.Open() {
		h.writeShard(shard, redisUnsubscribe{channel: redisscript.ShardChannel(room)})
	}
}
