package sim

import (
	"slices"

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

// What a node host sends Redis, and what Redis sends back. One connection
// carries both, in order.
type (
	// redisCall is a broker request: a script call (the broker's own, from
	// redisscript) or, in pubsub mode, a plain command.
	redisCall struct {
		request node.RequestID
		fetch   bool
		script  *redisscript.Call
		command []string
	}
	redisSubscribe   struct{ channel string }
	redisUnsubscribe struct{ channel string }

	// redisAnswer is a call's reply, in go-redis's shapes.
	redisAnswer struct {
		request node.RequestID
		fetch   bool
		result  any
		err     error
	}
	// redisMessage is a PUBLISH as a subscriber reads it. Every subscriber
	// gets the same decoded, which the first to read it fills in: decoding
	// is a pure function of the payload, so once per message serves all.
	redisMessage struct {
		channel, payload string
		decoded          *decodedMessage
	}
	redisSubscribed struct{ channel string }
)

// RedisHost serves the Redis store over simulated connections: commands
// run one at a time in arrival order (Redis is single-threaded), and
// pub/sub messages go to the connections subscribed at that moment, at
// most once: a node that is not connected when a message is published
// never sees it.
type RedisHost struct {
	host    *host
	network *Network
	store   *Redis
	// subscribers per channel, in subscription order.
	subscribers map[string][]*Conn
	// channels per connection, to unsubscribe a connection that goes away.
	channels map[*Conn][]string
}

// NewRedisHost starts Redis on a new host named name.
func NewRedisHost(name string, network *Network, store *Redis) *RedisHost {
	r := &RedisHost{host: newHost(name), network: network, store: store,
		subscribers: map[string][]*Conn{}, channels: map[*Conn][]string{}}
	store.publish = r.publish
	return r
}

// Store is the data, for tests and snapshots.
func (r *RedisHost) Store() *Redis { return r.store }

func (r *RedisHost) endpointHost() *host { return r.host }

func (r *RedisHost) accept(c *Conn) {
	r.network.Accept(c, r)
	r.network.SetOutputLimit(c, r.host, redisOutputBytesMax)
}

func (r *RedisHost) connected(*Conn)       {}
func (r *RedisHost) flushed(*Conn, int)    {}
func (r *RedisHost) closed(c *Conn, _ int) { r.dropSubscriber(c) }

func (r *RedisHost) receive(c *Conn, payload any) {
	switch command := payload.(type) {
	case redisCall:
		var result any
		var err error
		if command.script != nil {
			result, err = r.store.Eval(command.script.Source, command.script.Keys, command.script.Args)
		} else {
			result, err = r.store.Do(command.command...)
		}
		r.reply(c, redisAnswer{request: command.request, fetch: command.fetch, result: result, err: err},
			redisOverheadBytes+replyBytes(result), uint64(command.request))
	case redisSubscribe:
		if !slices.Contains(r.channels[c], command.channel) {
			r.channels[c] = append(r.channels[c], command.channel)
			r.subscribers[command.channel] = append(r.subscribers[command.channel], c)
		}
		r.reply(c, redisSubscribed(command), redisOverheadBytes+len(command.channel), digest([]byte(command.channel)))
	case redisUnsubscribe:
		r.unsubscribe(c, command.channel)
	default:
		panic("sim: redis got an unknown command")
	}
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

func (r *RedisHost) reply(c *Conn, payload any, size int, detail uint64) {
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
		r.network.Write(c, r.host, message, size, detail)
	}
	return len(subscribers)
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
	if !keepData {
		r.store.Flush()
	}
}

// Start brings a crashed Redis back.
func (r *RedisHost) Start(world *World) { world.start(r.host) }

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
