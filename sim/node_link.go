package sim

import (
	"slices"
	"time"

	"chatlab/system/broker/redisscript"
)

// Timings of the pub/sub link: system/broker's RedisConfig defaults
// (PingIntervalMs, LinkTimeoutMs, ReconnectDelayMaxMs) and its
// reconnectDelayMin.
const (
	linkPingInterval      = 500 * time.Millisecond
	linkTimeout           = 1500 * time.Millisecond
	linkReconnectDelayMin = 50 * time.Millisecond
	linkReconnectDelayMax = time.Second
)

// subscriptionLink is the node host's pub/sub connection, run by the rules
// of system/broker's link (broker_redis_link.go), which runs on goroutines
// and so cannot run here itself:
//   - a session is one connection: every wanted room is subscribed, then a
//     PING sent; the session is up when its PONG arrives, since Redis
//     answers in order and every subscription is confirmed by then;
//   - the node hears BrokerUp when a session comes up, BrokerDown when a
//     session it was told up ends;
//   - messages are passed on only while the node was told up: what arrives
//     before the BrokerUp is caught up from history anyway;
//   - a PING goes out every linkPingInterval; a session that hears nothing
//     for linkTimeout is ended (a half-open connection);
//   - a failed session is never reused: the next one starts on a new
//     connection after a backoff that doubles from linkReconnectDelayMin
//     to linkReconnectDelayMax while sessions fail without coming up.
type subscriptionLink struct {
	conn *Conn
	// up: the session's PONG arrived; toldUp: the node's last link input
	// was BrokerUp.
	up, toldUp bool
	heardAt    time.Duration // when the session last heard anything
	delay      time.Duration // the backoff before the next session
	// wanted are the rooms to hold across sessions, sorted.
	wanted []string
	// waiters are rooms whose node-asked SUBSCRIBE awaits confirmation,
	// oldest first; subscribesPending counts them per room, and calls of
	// such a room wait (system/server's rule: nothing published between a
	// fetch's reply and the subscription may be missed).
	waiters           []string
	subscribesPending map[string]int
	// On a Redis Cluster (node_cluster.go): active while a session runs,
	// its connections, and the connection each room was subscribed on.
	active    bool
	shards    []*linkShard
	roomShard map[string]*linkShard
}

func (h *NodeHost) dialLink() {
	if h.redisCluster() != nil {
		h.clusterDialLink()
		return
	}
	h.link.conn = h.cluster.network.Dial(h, h.cluster.redis, "")
	h.link.up = false
	if h.link.subscribesPending == nil {
		h.link.subscribesPending = map[string]int{}
	}
}

// linkConnected starts a session: subscribe every wanted room, then PING.
func (h *NodeHost) linkConnected() {
	link := &h.link
	link.heardAt = h.cluster.world.now
	if len(link.wanted) > 0 {
		h.writeLink(redisSubscribe{channels: channelsOf(link.wanted)})
	}
	h.writeLink(redisPing{})
	h.schedulePing(link.conn)
}

func channelsOf(rooms []string) []string {
	channels := make([]string, len(rooms))
	for i, room := range rooms {
		channels[i] = redisscript.Channel(room)
	}
	return channels
}

func (h *NodeHost) writeLink(command redisSubscription) {
	h.cluster.network.Write(h.link.conn, h.host, command, command.bytes(), command.digest())
}

// schedulePing pings the session every linkPingInterval and ends it after
// linkTimeout of silence.
func (h *NodeHost) schedulePing(c *Conn) {
	h.cluster.world.on(h.host, linkPingInterval, "link-ping", c.ID, func() {
		if h.link.conn != c {
			return // that session is over
		}
		if h.cluster.world.now-h.link.heardAt >= linkTimeout {
			h.advance()
			h.cluster.network.Close(c, h.host, CloseAbnormal)
			h.linkLost()
			h.flush()
			return
		}
		h.writeLink(redisPing{})
		h.schedulePing(c)
	})
}

func (h *NodeHost) linkReceive(payload any) {
	link := &h.link
	link.heardAt = h.cluster.world.now
	switch reply := payload.(type) {
	case redisPong:
		if !link.up {
			h.sessionUp()
		}
	case redisSubscribed:
		for _, channel := range reply.channels {
			room, _ := redisscript.RoomOfChannel(channel)
			h.confirmed(room)
		}
	case redisMessage:
		h.linkMessage(reply)
	default:
		panic("sim: node host got an unknown reply on its pub/sub link")
	}
}

// sessionUp: the session answered; the node hears BrokerUp unless it was
// told up already.
func (h *NodeHost) sessionUp() {
	link := &h.link
	link.up, link.delay = true, linkReconnectDelayMin
	if !link.toldUp {
		link.toldUp = true
		h.node.BrokerUp()
	}
}

// confirmed: a subscribe of room was confirmed; the oldest node-asked one
// waiting is released.
func (h *NodeHost) confirmed(room string) {
	link := &h.link
	if at := slices.Index(link.waiters, room); at >= 0 {
		link.waiters = slices.Delete(link.waiters, at, at+1)
		h.subscribed(room)
	}
}

func (h *NodeHost) linkMessage(m redisMessage) {
	msg, err := m.decode()
	if err != nil {
		panic("sim: " + err.Error()) // only the broker's own scripts publish
	}
	if _, held := slices.BinarySearch(h.link.wanted, msg.Room); !held || !h.link.toldUp {
		// Unsubscribed while in flight, or before the node's BrokerUp,
		// which catches it up from history.
		return
	}
	fetches := h.node.Counters().Fetches
	h.node.Message(msg)
	if h.node.Counters().Fetches > fetches {
		h.gapFills++
	}
}

// linkLost ends the session: the node hears BrokerDown if it was told up,
// node-asked subscribes waiting on the session are released, and the next
// session is dialed after the backoff.
func (h *NodeHost) linkLost() {
	link := &h.link
	cameUp := link.up
	link.conn, link.up = nil, false
	waiters := link.waiters
	link.waiters = nil
	for _, room := range waiters {
		h.subscribed(room)
	}
	if link.toldUp {
		link.toldUp = false
		h.node.BrokerDown()
	}
	if !cameUp {
		link.delay = min(max(2*link.delay, linkReconnectDelayMin), linkReconnectDelayMax)
	}
	h.cluster.world.on(h.host, link.delay, "link-redial", 0, func() {
		if h.link.conn == nil && !h.link.active {
			h.dialLink()
		}
	})
}

// subscribe holds a room; on an open session it is subscribed now and the
// room's calls wait for the confirmation, otherwise the next session
// subscribes it and the calls go on at once.
func (h *NodeHost) subscribe(room string) {
	link := &h.link
	at, found := slices.BinarySearch(link.wanted, room)
	if found {
		return
	}
	link.wanted = slices.Insert(link.wanted, at, room)
	if h.redisCluster() != nil {
		h.clusterSubscribe(room)
		return
	}
	if link.conn == nil || !link.conn.Open() {
		return
	}
	link.subscribesPending[room]++
	link.waiters = append(link.waiters, room)
	h.writeLink(redisSubscribe{channels: []string{redisscript.Channel(room)}})
}

// subscribed releases the calls that waited for a room's subscribe.
func (h *NodeHost) subscribed(room string) {
	link := &h.link
	link.subscribesPending[room]--
	if link.subscribesPending[room] > 0 {
		return
	}
	delete(link.subscribesPending, room)
	h.releaseRoom(room)
}

func (h *NodeHost) unsubscribe(room string) {
	link := &h.link
	at, found := slices.BinarySearch(link.wanted, room)
	if !found {
		return
	}
	link.wanted = slices.Delete(link.wanted, at, at+1)
	if h.redisCluster() != nil {
		h.clusterUnsubscribe(room)
		return
	}
	if link.conn != nil && link.conn.Open() {
		h.writeLink(redisUnsubscribe{channel: redisscript.Channel(room)})
	}
}

// GapFills counts live messages that made the node fetch history, over the
// node's lifetimes.
func (h *NodeHost) GapFills() int { return h.gapFills }
