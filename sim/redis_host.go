package sim

import (
	"math/rand/v2"
	"slices"
	"time"

	"chatlab/system/broker/redisscript"
	"chatlab/system/node"
	"chatlab/system/protocol"
)

// redisOutputBytesMax is Redis's client-output-buffer-limit for pub/sub
// clients (hard limit 32 MB): a subscriber that does not read is cut off
// rather than allowed to grow Redis's memory.
const redisOutputBytesMax = 32 * 1024 * 1024

// redisOverheadBytes approximates a command's or reply's framing on the
// wire, on top of its strings.
const redisOverheadBytes = 64

// What a node host sends Redis, and what Redis sends back: calls and their
// answers on the command connection, subscriptions, pings and messages on
// the pub/sub connection.
type (
	// redisCall is a broker request: a script call (the broker's own, from
	// redisscript) or, in pubsub mode, a plain command.
	redisCall struct {
		request node.RequestID
		fetch   bool
		script  *redisscript.Call
		command []string
		// wait, on a Redis Cluster: WAIT for replicas (no script, no
		// command).
		wait *redisWaitCall
	}
	// redisAnswer is a call's reply, in go-redis's shapes.
	redisAnswer struct {
		request node.RequestID
		fetch   bool
		result  any
		err     error
	}

	redisSubscribe   struct{ channels []string }
	redisUnsubscribe struct{ channel string }
	redisPing        struct{}
	redisSubscribed  struct{ channels []string }
	redisPong        struct{}
	// redisMessage is a PUBLISH as a subscriber reads it. Every subscriber
	// gets the same decoded, which the first to read it fills in: decoding
	// is a pure function of the payload, so once per message serves all.
	redisMessage struct {
		channel, payload string
		decoded          *decodedMessage
	}
)

// redisSubscription is a command on the pub/sub connection.
type redisSubscription interface {
	bytes() int
	digest() uint64
}

// RedisSpec is how the simulated Redis serves its clients.
type RedisSpec struct {
	// CallSpread: each call waits a seeded time in [0, CallSpread] before
	// Redis runs it, and again before its answer leaves. A node keeps many
	// calls in flight over pooled connections, so Redis runs them, and
	// they come back, in an order other than the one they were sent in: a
	// fetch can overtake a publish. 0 takes the default
	// (redisCallSpreadDefault); negative keeps calls in order.
	CallSpread time.Duration
	// PubSubBreakEvery is the mean time between breaks of each pub/sub
	// connection (exponential, seeded): Redis drops the connection, and
	// whatever it published meanwhile is gone for that subscriber, which
	// must notice, resubscribe and catch up. 0: pub/sub connections break
	// only under faults.
	PubSubBreakEvery time.Duration
}

// RedisHost serves the Redis store over simulated connections. Redis is
// single-threaded: each command runs whole, and pub/sub messages go to the
// connections subscribed at that moment, at most once: a node that is not
// connected when a message is published never sees it.
type RedisHost struct {
	host    *host
	network *Network
	store   *Redis
	spec    RedisSpec
	random  *rand.Rand
	// subscribers per channel, in subscription order.
	subscribers map[string][]*Conn
	// channels per connection, to unsubscribe a connection that goes away.
	channels map[*Conn][]string
	// breaking marks the pub/sub connections with a break scheduled.
	breaking map[*Conn]bool
	// breaks counts the pub/sub connections broken by PubSubBreakEvery.
	breaks int
	// pubsub are the open pub/sub connections (those that subscribed or
	// pinged), in the order they first did.
	pubsub []*Conn
	// refusingPubSub: every connection that subscribes or pings is killed
	// at once (RefusePubSub until AdmitPubSub).
	refusingPubSub bool
	// dropPercent is the share of pub/sub pushes lost per subscribing
	// host (RedisName: every one), under DropPubSub; pushesDropped counts
	// the pushes lost so.
	dropPercent   map[string]float64
	pushesDropped int
	// callsArrived numbers calls as they arrive; answeredLast is the number
	// of the last call answered; overtaken counts answers that left after
	// the answer of a call that arrived later.
	callsArrived, answeredLast uint64
	overtaken                  int
	// clusterServer: a Redis Cluster's server (cluster nil on one Redis).
	clusterServer
}

// NewRedisHost starts Redis on a new host named name.
func NewRedisHost(name string, network *Network, store *Redis, spec RedisSpec) *RedisHost {
	r := &RedisHost{host: newHost(name), network: network, store: store, spec: spec, random: network.world.NewRandom(),
		subscribers: map[string][]*Conn{}, channels: map[*Conn][]string{}, breaking: map[*Conn]bool{}}
	store.publish = r.publish
	return r
}

// Store is the data, for tests and snapshots.
func (r *RedisHost) Store() *Redis { return r.store }

// PushesDropped is how many pub/sub pushes DropPubSub lost.
func (r *RedisHost) PushesDropped() int { return r.pushesDropped }

// PubSubBreaks is how many pub/sub connections PubSubBreakEvery broke.
func (r *RedisHost) PubSubBreaks() int { return r.breaks }

// Overtaken is how many calls were answered after a call that arrived
// after them.
func (r *RedisHost) Overtaken() int { return r.overtaken }

func (r *RedisHost) endpointHost() *host { return r.host }

func (r *RedisHost) accept(c *Conn) {
	r.network.Accept(c, r)
	r.network.SetOutputLimit(c, r.host, redisOutputBytesMax)
}

// connected: a replica's dial to its master completed; it asks for
// everything.
func (r *RedisHost) connected(c *Conn) {
	if r.cluster != nil && c == r.upstream {
		r.write(c, replSync{}, redisOverheadBytes, 0)
	}
}

func (r *RedisHost) flushed(*Conn, int) {}
func (r *RedisHost) ignoresFlushes()    {}

func (r *RedisHost) closed(c *Conn, _ int) {
	if r.cluster != nil {
		if c == r.upstream {
			r.upstreamLost()
			return
		}
		r.replicas = slices.DeleteFunc(r.replicas, func(replica *replicaConn) bool { return replica.conn == c })
	}
	r.pubsub = slices.DeleteFunc(r.pubsub, func(s *Conn) bool { return s == c })
	r.dropSubscriber(c)
	delete(r.breaking, c)
}

func (r *RedisHost) receive(c *Conn, payload any) {
	if r.cluster != nil && r.replicationReceive(c, payload) {
		return
	}
	switch command := payload.(type) {
	case redisCall:
		r.callsArrived++
		arrived := r.callsArrived
		r.later(func() { r.run(c, command, arrived) })
	case redisSubscribe:
		if r.refuse(c) {
			return
		}
		r.markPubSub(c)
		r.scheduleBreak(c)
		for _, channel := range command.channels {
			if r.cluster != nil && (r.clusterDown() || r.movedFor(channel) != nil) {
				r.write(c, redisSubscribeRefused{channel: channel}, redisOverheadBytes, digest([]byte(channel)))
				return
			}
			if !slices.Contains(r.channels[c], channel) {
				r.channels[c] = append(r.channels[c], channel)
				r.subscribers[channel] = append(r.subscribers[channel], c)
			}
		}
		r.write(c, redisSubscribed(command), command.bytes(), command.digest())
	case redisUnsubscribe:
		r.unsubscribe(c, command.channel)
	case redisPing:
		if r.refuse(c) {
			return
		}
		r.markPubSub(c)
		r.scheduleBreak(c)
		r.write(c, redisPong{}, redisOverheadBytes, 0)
	default:
		panic("sim: redis got an unknown command")
	}
}

// later runs a call's step after its share of the spread.
func (r *RedisHost) later(step func()) {
	if r.spec.CallSpread <= 0 {
		step()
		return
	}
	wait := time.Duration(r.random.Int64N(int64(r.spec.CallSpread) + 1))
	r.network.world.on(r.host, wait, "redis-call", 0, step)
}

// run runs one call whole and sends its answer back. A call whose
// connection broke meanwhile still runs: Redis had read it.
func (r *RedisHost) run(c *Conn, call redisCall, arrived uint64) {
	var result any
	var err error
	if r.cluster != nil {
		if call.wait != nil {
			r.wait(c, call, arrived)
			return
		}
		if r.clusterDown() {
			r.answer(c, call, arrived, nil, errClusterDown)
			return
		}
		if moved := r.movedFor(call.callKey()); moved != nil {
			r.answer(c, call, arrived, nil, moved)
			return
		}
	}
	if call.script != nil {
		result, err = r.store.Eval(call.script.Source, call.script.Keys, call.script.Args)
	} else {
		result, err = r.store.Do(call.command...)
	}
	if r.cluster != nil {
		if effects := r.store.takeEffects(); len(effects) > 0 {
			r.replicate(effects)
		}
	}
	r.answer(c, call, arrived, result, err)
}

// answer sends a call's reply back after its share of the spread.
func (r *RedisHost) answer(c *Conn, call redisCall, arrived uint64, result any, err error) {
	answer := redisAnswer{request: call.request, fetch: call.fetch, result: result, err: err}
	r.later(func() {
		if arrived < r.answeredLast {
			r.overtaken++
		}
		r.answeredLast = arrived
		r.write(c, answer, redisOverheadBytes+replyBytes(result), call.digest())
	})
}

// replyBytes approximates a reply's size on the wire.
func replyBytes(result any) int {
	switch v := result.(type) {
	case string:
		return len(v)
	case []any:
		size := 0
		for _, item := range v {
			size += 8 + replyBytes(item)
		}
		return size
	}
	return 8
}

func (r *RedisHost) write(c *Conn, payload any, size int, detail uint64) {
	r.network.Write(c, r.host, payload, size, detail)
}

// publish sends a message to every connection subscribed to its channel
// now, and says how many.
func (r *RedisHost) publish(channel, payload string) int {
	size := redisOverheadBytes + len(payload)
	detail := digest([]byte(payload))
	subscribers := r.subscribers[channel]
	message := redisMessage{channel: channel, payload: payload, decoded: &decodedMessage{}}
	for _, c := range subscribers {
		if r.dropsPush(c) {
			continue
		}
		r.write(c, message, size, detail)
	}
	return len(subscribers)
}

// dropPushes loses percent of the pushes to the host named target
// (RedisName: to every host) from now on; 0 ends it.
func (r *RedisHost) dropPushes(target string, percent float64) {
	if percent <= 0 {
		delete(r.dropPercent, target)
		return
	}
	if r.dropPercent == nil {
		r.dropPercent = map[string]float64{}
	}
	r.dropPercent[target] = percent
}

// dropsPush decides whether a push to c is lost. It draws from the
// random source only while a DropPubSub is in force, so that a run
// without one draws as before.
func (r *RedisHost) dropsPush(c *Conn) bool {
	if len(r.dropPercent) == 0 {
		return false
	}
	percent := max(r.dropPercent[RedisName], r.dropPercent[c.path[0].name])
	if percent <= 0 || r.random.Float64()*100 >= percent {
		return false
	}
	r.pushesDropped++
	return true
}

// markPubSub notes a connection that speaks pub/sub.
func (r *RedisHost) markPubSub(c *Conn) {
	if !slices.Contains(r.pubsub, c) {
		r.pubsub = append(r.pubsub, c)
	}
}

// refuse kills a connection that speaks pub/sub while pub/sub is refused.
func (r *RedisHost) refuse(c *Conn) bool {
	if !r.refusingPubSub {
		return false
	}
	r.network.world.on(r.host, 0, "pubsub-refuse", c.ID, func() {
		if c.Open() {
			r.network.Reset(c)
		}
		r.dropSubscriber(c)
		delete(r.breaking, c)
	})
	return true
}

// KillPubSub closes every pub/sub connection, as CLIENT KILL TYPE pubsub
// does: each subscriber loses its subscriptions and whatever is published
// until it has subscribed again on a new connection.
func (r *RedisHost) KillPubSub() {
	for _, c := range slices.Clone(r.pubsub) {
		if c.Open() {
			r.network.Reset(c)
		}
		r.dropSubscriber(c)
		delete(r.breaking, c)
	}
	r.pubsub = r.pubsub[:0]
}

// scheduleBreak plans the break of a pub/sub connection, once.
func (r *RedisHost) scheduleBreak(c *Conn) {
	if r.spec.PubSubBreakEvery <= 0 || r.breaking[c] {
		return
	}
	r.breaking[c] = true
	after := time.Duration(r.random.ExpFloat64() * float64(r.spec.PubSubBreakEvery))
	r.network.world.on(r.host, after, "pubsub-break", c.ID, func() {
		if r.breaking[c] && c.Open() {
			r.breaks++
			r.network.Reset(c)
			r.dropSubscriber(c)
			delete(r.breaking, c)
		}
	})
}

func (r *RedisHost) unsubscribe(c *Conn, channel string) {
	r.channels[c] = slices.DeleteFunc(r.channels[c], func(name string) bool { return name == channel })
	r.subscribers[channel] = slices.DeleteFunc(r.subscribers[channel], func(s *Conn) bool { return s == c })
	if len(r.subscribers[channel]) == 0 {
		delete(r.subscribers, channel)
	}
}

func (r *RedisHost) dropSubscriber(c *Conn) {
	for _, channel := range r.channels[c] {
		r.subscribers[channel] = slices.DeleteFunc(r.subscribers[channel], func(s *Conn) bool { return s == c })
		if len(r.subscribers[channel]) == 0 {
			delete(r.subscribers, channel)
		}
	}
	delete(r.channels, c)
}

// Crash stops Redis: connections reset, subscriptions gone; unless
// keepData (persistence: AOF or RDB), the data is gone too.
func (r *RedisHost) Crash(world *World, keepData bool) {
	if !r.host.up {
		return
	}
	world.crash(r.host)
	r.network.CrashHost(r.host)
	clear(r.subscribers)
	clear(r.channels)
	clear(r.breaking)
	r.pubsub = r.pubsub[:0]
	if r.cluster != nil {
		r.replicas, r.waits, r.upstream = nil, nil, nil
		r.store.takeEffects()
		if r.isMaster() {
			r.cluster.masterDown(r.shard)
		}
		return // its data is on disk; a replica's is replaced when it syncs
	}
	if !keepData {
		r.store.Flush()
	}
}

// Start brings a crashed Redis back. On a Redis Cluster, a server whose
// replica took over meanwhile comes back as that replica's replica.
func (r *RedisHost) Start(world *World) {
	world.start(r.host)
	if r.cluster == nil {
		return
	}
	r.sendAt = 0
	if !r.isMaster() {
		r.store.recording = false
		r.dialUpstream()
	}
}

// bytes approximates the call's size on the wire. A script call goes by
// EVALSHA: the script's hash, its keys and arguments.
func (c redisCall) bytes() int {
	size := 0
	if c.script != nil {
		for _, s := range c.script.Keys {
			size += len(s)
		}
		for _, s := range c.script.Args {
			size += len(s)
		}
		return size + 40 // the script's SHA1
	}
	for _, s := range c.command {
		size += len(s)
	}
	return size
}

// digest identifies the call in the trace.
func (c redisCall) digest() uint64 {
	detail := uint64(c.request)
	if c.fetch {
		detail |= 1 << 63
	}
	return detail
}

func (s redisSubscribe) bytes() int {
	size := redisOverheadBytes
	for _, channel := range s.channels {
		size += len(channel)
	}
	return size
}

func (s redisSubscribe) digest() uint64 {
	detail := uint64(0)
	for _, channel := range s.channels {
		detail ^= digest([]byte(channel))
	}
	return detail
}

func (u redisUnsubscribe) bytes() int     { return redisOverheadBytes + len(u.channel) }
func (u redisUnsubscribe) digest() uint64 { return digest([]byte(u.channel)) }
func (redisPing) bytes() int              { return redisOverheadBytes }
func (redisPing) digest() uint64          { return 1 }

// decodedMessage is a pub/sub payload read as the broker reads it
// (redisscript.Message).
type decodedMessage struct {
	done bool
	msg  protocol.Msg
	err  error
}

func (m redisMessage) decode() (protocol.Msg, error) {
	if !m.decoded.done {
		m.decoded.msg, m.decoded.err = redisscript.Message(m.channel, m.payload)
		m.decoded.done = true
	}
	return m.decoded.msg, m.decoded.err
}
