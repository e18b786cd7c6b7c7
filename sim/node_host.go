package sim

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"chatlab/system/broker/redisscript"
	"chatlab/system/node"
)

// Timings of the node host's broker link, as the real runtime's Redis
// client would have them.
const (
	// brokerRequestTimeout: a publish or fetch without a reply by then
	// fails with errBrokerTimeout (it may still have been applied).
	brokerRequestTimeout = time.Second
	// brokerRedialInterval: how long a node waits between Redis dials.
	brokerRedialInterval = 500 * time.Millisecond
	// nodeTickInterval: the node's clock ticks at least this often.
	nodeTickInterval = 100 * time.Millisecond
)

var (
	errBrokerTimeout = errors.New("sim: broker request timed out")
	errBrokerDown    = errors.New("sim: broker link is down")
)

// NodeHost runs one system/node state machine: it feeds the node its
// inputs and carries out its Ready over the simulated network and Redis.
type NodeHost struct {
	name    string
	host    *host
	cluster *Cluster
	config  node.Config
	node    *node.Node

	conns    map[node.ConnID]*Conn
	connIDs  map[*Conn]node.ConnID
	nextConn node.ConnID

	// The broker link: one connection to Redis, the rooms the node wants
	// subscribed (sorted), and the confirmations still awaited before the
	// node is told BrokerUp.
	redis         *Conn
	brokerUp      bool
	wanted        []string
	confirmations int
	// requests are broker requests awaiting a reply, oldest first (they
	// share one timeout, so the oldest expires first); pending marks the
	// ones still unanswered.
	requests []brokerRequest
	pending  map[node.RequestID]bool
}

type brokerRequest struct {
	id       node.RequestID
	fetch    bool
	deadline time.Duration
}

func newNodeHost(cluster *Cluster, config node.Config) *NodeHost {
	h := &NodeHost{name: config.ID, host: newHost(config.ID), cluster: cluster, config: config}
	h.boot()
	return h
}

// Name is the node's ID.
func (h *NodeHost) Name() string { return h.name }

// Node is the running state machine (nil while crashed).
func (h *NodeHost) Node() *node.Node { return h.node }

// boot starts a fresh process: a new state machine with nothing in memory,
// its own randomness, and a dial to Redis.
func (h *NodeHost) boot() {
	random := h.cluster.world.NewRandom()
	config := h.config
	config.Random = random.Uint64
	h.node = node.New(config)
	h.conns = map[node.ConnID]*Conn{}
	h.connIDs = map[*Conn]node.ConnID{}
	h.redis, h.brokerUp, h.wanted, h.confirmations = nil, false, nil, 0
	h.requests, h.pending = nil, map[node.RequestID]bool{}
	h.advance()
	h.dialRedis()
	h.scheduleTick()
}

func (h *NodeHost) scheduleTick() {
	h.cluster.world.on(h.host, nodeTickInterval, "node-tick", 0, func() {
		h.advance()
		h.expireRequests()
		h.flush()
		h.scheduleTick()
	})
}

// advance brings the node's clock to virtual now before an input.
func (h *NodeHost) advance() {
	nowMs := h.cluster.world.now.Milliseconds()
	if nowMs > h.node.NowMs() {
		h.node.Tick(nowMs)
	}
}

func (h *NodeHost) dialRedis() {
	c := h.cluster.network.Dial(h, h.cluster.redis, "")
	h.redis = c
}

func (h *NodeHost) endpointHost() *host { return h.host }

// accept takes a client connection (directly or through the balancer).
func (h *NodeHost) accept(c *Conn) {
	h.cluster.network.Accept(c, h)
	h.nextConn++
	id := h.nextConn
	h.conns[id] = c
	h.connIDs[c] = id
	h.advance()
	h.node.Open(id, c.User)
	h.flush()
}

func (h *NodeHost) connected(c *Conn) {
	if c != h.redis {
		return
	}
	// Resubscribe everything before telling the node the link is up: the
	// node then catches up from history, and nothing published after the
	// subscriptions is missed.
	h.confirmations = len(h.wanted)
	for _, room := range h.wanted {
		h.writeRedis(redisSubscribe{channel: redisscript.Channel(room)}, redisOverheadBytes+len(room), digest([]byte(room)))
	}
	if h.confirmations == 0 {
		h.linkUp()
	}
}

func (h *NodeHost) linkUp() {
	h.brokerUp = true
	h.advance()
	h.node.BrokerUp()
	h.flush()
}

func (h *NodeHost) receive(c *Conn, payload any) {
	h.advance()
	if c == h.redis {
		h.receiveRedis(payload)
	} else if id, ok := h.connIDs[c]; ok {
		h.node.Receive(id, payload.([]byte))
	}
	h.flush()
}

func (h *NodeHost) receiveRedis(payload any) {
	switch reply := payload.(type) {
	case redisAnswer:
		if h.answer(reply.request) {
			h.answered(reply)
		}
	case redisMessage:
		msg, err := reply.decode()
		if err != nil {
			panic("sim: " + err.Error()) // only the broker's own scripts publish
		}
		h.node.Message(msg)
	case redisSubscribed:
		if !h.brokerUp && h.confirmations > 0 {
			h.confirmations--
			if h.confirmations == 0 {
				h.linkUp()
			}
		}
	default:
		panic("sim: node host got an unknown reply from redis")
	}
}

// answered reads a call's reply as the broker does and hands it to the
// node.
func (h *NodeHost) answered(a redisAnswer) {
	if a.fetch {
		reply, err := fetchReplyOf(a)
		h.node.Fetched(a.request, reply, err)
		return
	}
	reply, err := publishReplyOf(a, h.config.Delivery)
	h.node.Published(a.request, reply, err)
}

func fetchReplyOf(a redisAnswer) (node.FetchReply, error) {
	if a.err != nil {
		return node.FetchReply{}, fmt.Errorf("sim: fetch: %w", a.err)
	}
	result, ok := a.result.([]any)
	if !ok {
		return node.FetchReply{}, fmt.Errorf("sim: fetch script replied %#v", a.result)
	}
	return redisscript.FetchReply(result)
}

func publishReplyOf(a redisAnswer, delivery node.Delivery) (node.PublishReply, error) {
	if a.err != nil {
		return node.PublishReply{}, fmt.Errorf("sim: publish: %w", a.err)
	}
	if delivery == node.PubSub {
		return node.PublishReply{}, nil // PUBLISH answers with a count
	}
	result, ok := a.result.([]any)
	if !ok {
		return node.PublishReply{}, fmt.Errorf("sim: publish script replied %#v", a.result)
	}
	return redisscript.PublishReply(result)
}

// answer marks a request answered; false when it already timed out (the
// late reply is dropped, as a real client drops it).
func (h *NodeHost) answer(id node.RequestID) bool {
	if !h.pending[id] {
		return false
	}
	delete(h.pending, id)
	return true
}

func (h *NodeHost) closed(c *Conn, _ int) {
	h.advance()
	if c == h.redis {
		h.redisLost()
	} else if id, ok := h.connIDs[c]; ok {
		delete(h.conns, id)
		delete(h.connIDs, c)
		h.node.Closed(id)
	}
	h.flush()
}

// redisLost: the link is gone. Unanswered requests fail (they may have
// been applied), the node hears BrokerDown, and a redial is scheduled.
func (h *NodeHost) redisLost() {
	h.redis = nil
	if h.brokerUp {
		h.brokerUp = false
		h.node.BrokerDown()
	}
	h.failAll(errBrokerDown)
	h.cluster.world.on(h.host, brokerRedialInterval, "redis-redial", 0, func() {
		if h.redis == nil {
			h.dialRedis()
		}
	})
}

func (h *NodeHost) failAll(err error) {
	requests := h.requests
	h.requests = nil
	for _, r := range requests {
		h.fail(r, err)
	}
}

func (h *NodeHost) fail(r brokerRequest, err error) {
	if !h.answer(r.id) {
		return
	}
	if r.fetch {
		h.node.Fetched(r.id, node.FetchReply{}, err)
	} else {
		h.node.Published(r.id, node.PublishReply{}, err)
	}
}

// expireRequests fails the requests past their deadline.
func (h *NodeHost) expireRequests() {
	now := h.cluster.world.now
	expired := 0
	for expired < len(h.requests) && h.requests[expired].deadline <= now {
		expired++
	}
	timedOut := h.requests[:expired]
	h.requests = h.requests[expired:]
	for _, r := range timedOut {
		h.fail(r, errBrokerTimeout)
	}
}

func (h *NodeHost) flushed(c *Conn, count int) {
	if id, ok := h.connIDs[c]; ok {
		h.advance()
		h.node.Flushed(id, count)
		h.flush()
	}
}

// flush carries out everything the node asked for.
func (h *NodeHost) flush() {
	network := h.cluster.network
	ready := h.node.Ready()
	for _, frame := range ready.Frames {
		if c := h.conns[frame.Conn]; c != nil {
			network.Write(c, h.host, frame.Data, len(frame.Data), digest(frame.Data))
		}
	}
	for _, close := range ready.Closes {
		if c := h.conns[close.Conn]; c != nil {
			network.Close(c, h.host, close.Code)
			delete(h.conns, close.Conn)
			delete(h.connIDs, c)
		}
	}
	for _, room := range ready.Unsubscribes {
		h.unsubscribe(room)
	}
	for _, room := range ready.Subscribes {
		h.subscribe(room)
	}
	deadline := h.cluster.world.now + brokerRequestTimeout
	for _, publish := range ready.Publishes {
		call, err := h.publishCall(publish)
		h.request(brokerRequest{id: publish.Request, deadline: deadline}, call, err)
	}
	for _, fetch := range ready.Fetches {
		script, err := redisscript.Fetch(fetch)
		h.request(brokerRequest{id: fetch.Request, fetch: true, deadline: deadline},
			redisCall{request: fetch.Request, fetch: true, script: &script}, err)
	}
	h.cluster.recordLatencies(ready.LatenciesMs)
}

func (h *NodeHost) subscribe(room string) {
	at, found := slices.BinarySearch(h.wanted, room)
	if found {
		return
	}
	h.wanted = slices.Insert(h.wanted, at, room)
	if h.redis != nil && h.redis.Open() {
		h.writeRedis(redisSubscribe{channel: redisscript.Channel(room)}, redisOverheadBytes+len(room), digest([]byte(room)))
		if !h.brokerUp {
			h.confirmations++
		}
	}
}

func (h *NodeHost) unsubscribe(room string) {
	at, found := slices.BinarySearch(h.wanted, room)
	if !found {
		return
	}
	h.wanted = slices.Delete(h.wanted, at, at+1)
	if h.redis != nil && h.redis.Open() {
		h.writeRedis(redisUnsubscribe{channel: redisscript.Channel(room)}, redisOverheadBytes+len(room), digest([]byte(room)))
	}
}

// publishCall is what the broker sends Redis for a publish: its publish
// script in recover mode, a bare PUBLISH in pubsub mode.
func (h *NodeHost) publishCall(req node.PublishRequest) (redisCall, error) {
	if h.config.Delivery == node.PubSub {
		channel, payload, err := redisscript.PubSubPublish(req)
		return redisCall{request: req.Request, command: []string{"PUBLISH", channel, payload}}, err
	}
	topology := h.cluster.topology
	script, err := redisscript.Publish(req, topology.RedisStreamLenMax, int(topology.RedisDedupeTTL/time.Second))
	return redisCall{request: req.Request, script: &script}, err
}

// request sends a broker request, or fails it at once (as a later event:
// the node must not get an input while its Ready is being carried out)
// when the link is down or the broker refuses the request.
func (h *NodeHost) request(r brokerRequest, call redisCall, refused error) {
	h.pending[r.id] = true
	if refused != nil || h.redis == nil || !h.redis.Open() {
		failure := errBrokerDown
		if refused != nil {
			failure = refused
		}
		h.cluster.world.on(h.host, 0, "broker-down", uint64(r.id), func() {
			h.advance()
			h.fail(r, failure)
			h.flush()
		})
		return
	}
	h.requests = append(h.requests, r)
	h.writeRedis(call, redisOverheadBytes+call.bytes(), call.digest())
}

func (h *NodeHost) writeRedis(command any, size int, detail uint64) {
	h.cluster.network.Write(h.redis, h.host, command, size, detail)
}

// Crash kills the process: every connection resets and all state is lost.
func (h *NodeHost) Crash() {
	if !h.host.up {
		return
	}
	h.cluster.world.crash(h.host)
	h.cluster.network.CrashHost(h.host)
	h.node = nil
}

// Restart boots a crashed node as a new process.
func (h *NodeHost) Restart() {
	if h.host.up {
		return
	}
	h.cluster.world.start(h.host)
	h.boot()
}

// Drain asks the node to close every connection with CloseReconnect and
// refuse new ones.
func (h *NodeHost) Drain() {
	if h.node == nil {
		return
	}
	h.advance()
	h.node.Drain()
	h.flush()
}
