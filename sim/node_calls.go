package sim

import (
	"errors"
	"fmt"
	"time"

	"chatlab/system/broker/redisscript"
	"chatlab/system/node"
)

// Limits and timings of the node host's broker calls. The scheduling rules
// are system/server's (calls.go, subscriptions.go): that code runs on
// goroutines, so the simulator keeps its own copy of the rules.
const (
	// brokerRequestTimeout: a publish or fetch without a reply by then
	// fails with errBrokerTimeout (it may still have been applied).
	brokerRequestTimeout = time.Second
	// brokerCallsInFlightMax bounds calls sent and not yet answered.
	brokerCallsInFlightMax = 256
	// brokerCallsPendingMax bounds calls waiting to be sent; beyond it a
	// call fails at once.
	brokerCallsPendingMax = 4096
	// commandsRedialInterval: how long a node waits between dials of its
	// command connection.
	commandsRedialInterval = 500 * time.Millisecond
)

var (
	errBrokerTimeout = errors.New("sim: broker request timed out")
	errBrokerDown    = errors.New("sim: redis command connection is down")
	errBrokerBusy    = errors.New("sim: broker calls queue is full")
)

// brokerCall is one publish or fetch on its way through the node host.
type brokerCall struct {
	id   node.RequestID
	room string
	call redisCall
	// refused: the broker refused the request before sending it.
	refused  error
	deadline time.Duration
}

// brokerCalls is the node host's side of the command link: one connection
// standing for go-redis's pool. Redis answers calls in any order (the Redis
// host spreads them, as calls spread over pooled connections do), so a
// fetch can overtake a publish sent before it.
type brokerCalls struct {
	conn *Conn
	open bool
	// pending counts calls not yet sent: in ready or waiting for their
	// room's subscribe.
	pending        int
	ready          []brokerCall
	afterSubscribe map[string][]brokerCall // by room
	// inFlight are the calls sent, oldest first (they share one timeout,
	// so the oldest expires first); unanswered are those still unanswered.
	inFlight   []brokerCall
	unanswered map[node.RequestID]bool
	// On a Redis Cluster (node_cluster.go): a connection per server, by
	// server index, and the calls sent and not finished.
	servers []serverConn
	sent    map[node.RequestID]*sentCall
}

func newBrokerCalls() brokerCalls {
	return brokerCalls{afterSubscribe: map[string][]brokerCall{}, unanswered: map[node.RequestID]bool{}}
}

func (h *NodeHost) dialCommands() {
	h.calls.conn, h.calls.open = h.cluster.network.Dial(h, h.cluster.redis, ""), false
}

// publish sends what the broker sends Redis for a publish: its publish
// script in recover mode, a bare PUBLISH in pubsub mode.
func (h *NodeHost) publish(req node.PublishRequest) {
	call := brokerCall{id: req.Request, room: req.Room}
	if h.config.Delivery == node.PubSub {
		channel, payload, err := redisscript.PubSubPublish(req)
		command := []string{"PUBLISH", channel, payload}
		if h.redisCluster() != nil {
			command = []string{"SPUBLISH", redisscript.ShardChannel(req.Room), payload}
		}
		call.call, call.refused = redisCall{request: req.Request, command: command}, err
	} else {
		topology := h.cluster.topology
		script, err := redisscript.Publish(req, topology.RedisStreamLenMax, int(topology.RedisDedupeTTL/time.Second))
		call.call, call.refused = redisCall{request: req.Request, script: &script}, err
		if err == nil && h.redisCluster() != nil {
			call.call = h.clusterCall(call.call, req.Room)
		}
	}
	h.queueCall(call)
}

func (h *NodeHost) fetch(req node.FetchRequest) {
	script, err := redisscript.Fetch(req)
	call := redisCall{request: req.Request, fetch: true, script: &script}
	if err == nil && h.redisCluster() != nil {
		call = h.clusterCall(call, req.Room)
	}
	h.queueCall(brokerCall{id: req.Request, room: req.Room, refused: err, call: call})
}

// queueCall queues a call and sends what the in-flight limit allows. A
// call waits for its room's subscribe. (The node hands over at most one
// publish of a sender in a room at a time.)
func (h *NodeHost) queueCall(call brokerCall) {
	calls := &h.calls
	if calls.pending >= brokerCallsPendingMax {
		h.refuseLater(call, errBrokerBusy)
		return
	}
	calls.pending++
	if h.link.subscribesPending[call.room] > 0 {
		calls.afterSubscribe[call.room] = append(calls.afterSubscribe[call.room], call)
		return
	}
	calls.ready = append(calls.ready, call)
	h.sendCalls()
}

// sendCalls sends ready calls as far as the in-flight limit allows.
func (h *NodeHost) sendCalls() {
	calls := &h.calls
	for len(calls.unanswered) < brokerCallsInFlightMax && len(calls.ready) > 0 {
		call := calls.ready[0]
		calls.ready[0] = brokerCall{}
		calls.ready = calls.ready[1:]
		calls.pending--
		calls.unanswered[call.id] = true
		if call.refused == nil && h.cluster.redisCluster != nil {
			h.sendToShard(call)
			continue
		}
		if call.refused != nil || !calls.open {
			failure := errBrokerDown
			if call.refused != nil {
				failure = call.refused
			}
			h.failLater(call, failure)
			continue
		}
		call.deadline = h.cluster.world.now + brokerRequestTimeout
		calls.inFlight = append(calls.inFlight, call)
		h.cluster.network.Write(calls.conn, h.host, call.call, redisOverheadBytes+call.call.bytes(), call.call.digest())
	}
}

// failLater fails a sent call as a later event: the node must not get an
// input while its Ready is being carried out.
func (h *NodeHost) failLater(call brokerCall, err error) {
	h.cluster.world.on(h.host, 0, "broker-call-failed", uint64(call.id), func() {
		h.advance()
		h.finishCall(call.id, call.call.fetch, nil, err)
		h.flush()
	})
}

// refuseLater fails a call that never entered the queue.
func (h *NodeHost) refuseLater(call brokerCall, err error) {
	h.cluster.world.on(h.host, 0, "broker-call-refused", uint64(call.id), func() {
		h.advance()
		h.calls.unanswered[call.id] = true
		h.finishCall(call.id, call.call.fetch, nil, err)
		h.flush()
	})
}

// finishCall hands a call's outcome to the node, once: a reply after a
// timeout is dropped, as a real client drops it. The call's slot is
// released.
func (h *NodeHost) finishCall(id node.RequestID, fetch bool, result any, err error) {
	if !h.calls.unanswered[id] {
		return
	}
	delete(h.calls.unanswered, id)
	delete(h.calls.sent, id)
	answer := redisAnswer{request: id, fetch: fetch, result: result, err: err}
	if fetch {
		reply, err := fetchReplyOf(answer)
		h.node.Fetched(id, reply, err)
	} else {
		reply, err := publishReplyOf(answer, h.config.Delivery)
		h.node.Published(id, reply, err)
	}
	h.sendCalls()
}

// releaseRoom sends the calls that waited for their room's subscribe.
func (h *NodeHost) releaseRoom(room string) {
	calls := &h.calls
	waiting := calls.afterSubscribe[room]
	delete(calls.afterSubscribe, room)
	for _, call := range waiting {
		calls.pending--
		h.queueCall(call)
	}
}

func (h *NodeHost) callAnswered(a redisAnswer) {
	h.finishCall(a.request, a.fetch, a.result, a.err)
}

// commandsLost: the command connection is gone. Unanswered calls fail
// (they may have been applied) and a redial is scheduled.
func (h *NodeHost) commandsLost() {
	h.calls.conn, h.calls.open = nil, false
	h.failInFlight(errBrokerDown)
	h.cluster.world.on(h.host, commandsRedialInterval, "redis-redial", 0, func() {
		if h.calls.conn == nil {
			h.dialCommands()
		}
	})
}

func (h *NodeHost) failInFlight(err error) {
	inFlight := h.calls.inFlight
	h.calls.inFlight = nil
	for _, call := range inFlight {
		h.finishCall(call.id, call.call.fetch, nil, err)
	}
}

// expireCalls fails the calls past their deadline.
func (h *NodeHost) expireCalls() {
	now := h.cluster.world.now
	calls := &h.calls
	expired := 0
	for expired < len(calls.inFlight) && calls.inFlight[expired].deadline <= now {
		expired++
	}
	timedOut := calls.inFlight[:expired]
	calls.inFlight = calls.inFlight[expired:]
	for _, call := range timedOut {
		h.finishCall(call.id, call.call.fetch, nil, errBrokerTimeout)
	}
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
