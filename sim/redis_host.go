package sim

import (
	"slices"

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

// Commands a node host sends to Redis, and what Redis sends back. One
// connection carries both, in order, like a RESP3 connection.
type (
	redisPublish     node.PublishRequest
	redisFetch       node.FetchRequest
	redisSubscribe   struct{ room string }
	redisUnsubscribe struct{ room string }

	redisPublished struct {
		request node.RequestID
		reply   node.PublishReply
	}
	redisFetched struct {
		request node.RequestID
		reply   node.FetchReply
	}
	redisMessage    protocol.Msg
	redisSubscribed struct{ room string }
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
	// subscribers per room, in subscription order.
	subscribers map[string][]*Conn
	// rooms per connection, to unsubscribe a connection that goes away.
	rooms map[*Conn][]string
}

// NewRedisHost starts Redis on a new host named name.
func NewRedisHost(name string, network *Network, store *Redis) *RedisHost {
	return &RedisHost{host: newHost(name), network: network, store: store,
		subscribers: map[string][]*Conn{}, rooms: map[*Conn][]string{}}
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
	case redisPublish:
		reply, msg := r.store.Publish(node.PublishRequest(command))
		r.reply(c, redisPublished{request: command.Request, reply: reply}, redisOverheadBytes+len(reply.Epoch), uint64(command.Request))
		if msg != nil {
			r.publish(*msg)
		}
	case redisFetch:
		reply := r.store.Fetch(node.FetchRequest(command))
		size := redisOverheadBytes + len(reply.Epoch)
		for _, msg := range reply.Messages {
			size += messageBytes(msg)
		}
		r.reply(c, redisFetched{request: command.Request, reply: reply}, size, uint64(command.Request)^reply.Head)
	case redisSubscribe:
		if !slices.Contains(r.rooms[c], command.room) {
			r.rooms[c] = append(r.rooms[c], command.room)
			r.subscribers[command.room] = append(r.subscribers[command.room], c)
		}
		r.reply(c, redisSubscribed(command), redisOverheadBytes+len(command.room), digest([]byte(command.room)))
	case redisUnsubscribe:
		r.unsubscribe(c, command.room)
	default:
		panic("sim: redis got an unknown command")
	}
}

func (r *RedisHost) reply(c *Conn, payload any, size int, detail uint64) {
	r.network.Write(c, r.host, payload, size, detail)
}

// publish sends a message to every connection subscribed to its room now.
func (r *RedisHost) publish(msg protocol.Msg) {
	size := messageBytes(msg)
	detail := digest([]byte(msg.ID)) ^ msg.Seq
	for _, c := range r.subscribers[msg.Room] {
		r.network.Write(c, r.host, redisMessage(msg), size, detail)
	}
}

func messageBytes(msg protocol.Msg) int {
	return redisOverheadBytes + len(msg.Room) + len(msg.ID) + len(msg.From) + len(msg.Body) + len(msg.Epoch)
}

func (r *RedisHost) unsubscribe(c *Conn, room string) {
	r.rooms[c] = slices.DeleteFunc(r.rooms[c], func(name string) bool { return name == room })
	r.subscribers[room] = slices.DeleteFunc(r.subscribers[room], func(s *Conn) bool { return s == c })
	if len(r.subscribers[room]) == 0 {
		delete(r.subscribers, room)
	}
}

func (r *RedisHost) dropSubscriber(c *Conn) {
	for _, room := range r.rooms[c] {
		r.subscribers[room] = slices.DeleteFunc(r.subscribers[room], func(s *Conn) bool { return s == c })
		if len(r.subscribers[room]) == 0 {
			delete(r.subscribers, room)
		}
	}
	delete(r.rooms, c)
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
	clear(r.rooms)
	if !keepData {
		r.store.Flush()
	}
}

// Start brings a crashed Redis back.
func (r *RedisHost) Start(world *World) { world.start(r.host) }
