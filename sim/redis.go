package sim

import (
	"chatlab/system/node"
	"chatlab/system/protocol"
)

// Defaults of the simulated Redis's bounds.
const (
	// streamLenMaxDefault is the history kept per room (XADD MAXLEN).
	streamLenMaxDefault = 1024
	// dedupeLenMaxDefault is the send ids remembered per room for dedupe;
	// the oldest is forgotten first. It must outlast a client's retries.
	dedupeLenMaxDefault = 8192
)

// Redis is the in-sim twin of system/broker's Redis scripts: the data and
// its semantics, with no transport. In recover mode Publish is one atomic
// step (dedupe, epoch, INCR, bounded XADD, PUBLISH), as the Lua script is.
// Pub/sub delivery itself (at most once, to currently connected
// subscribers) is the RedisHost's job.
type Redis struct {
	delivery     node.Delivery
	streamLenMax int
	dedupeLenMax int
	rooms        map[string]*redisRoom
}

type dedupeKey struct{ from, id string }

type redisRoom struct {
	epoch string
	seq   uint64
	// stream holds the last streamLenMax messages, ascending and without
	// gaps.
	stream []protocol.Msg
	dedupe map[dedupeKey]uint64
	// dedupeOrder is dedupe's keys oldest first, to forget in FIFO order.
	dedupeOrder []dedupeKey
}

// NewRedis returns an empty store. Zero bounds take their defaults.
func NewRedis(delivery node.Delivery, streamLenMax, dedupeLenMax int) *Redis {
	if delivery == "" {
		delivery = node.Recover
	}
	if streamLenMax <= 0 {
		streamLenMax = streamLenMaxDefault
	}
	if dedupeLenMax <= 0 {
		dedupeLenMax = dedupeLenMaxDefault
	}
	return &Redis{delivery: delivery, streamLenMax: streamLenMax, dedupeLenMax: dedupeLenMax, rooms: map[string]*redisRoom{}}
}

// Flush loses every key: a restart without persistence.
func (r *Redis) Flush() { clear(r.rooms) }

func (r *Redis) room(name string) *redisRoom {
	room := r.rooms[name]
	if room == nil {
		room = &redisRoom{dedupe: map[dedupeKey]uint64{}}
		r.rooms[name] = room
	}
	return room
}

// Publish accepts one send. It returns the reply and, unless the send is a
// duplicate, the message to publish on the room's channel.
func (r *Redis) Publish(req node.PublishRequest) (node.PublishReply, *protocol.Msg) {
	msg := protocol.Msg{Type: protocol.TypeMsg, Room: req.Room, ID: req.ID, From: req.From, Body: req.Body, TS: req.TS}
	if r.delivery == node.PubSub {
		return node.PublishReply{}, &msg
	}
	room := r.room(req.Room)
	key := dedupeKey{from: req.From, id: req.ID}
	if seq, ok := room.dedupe[key]; ok {
		return node.PublishReply{Seq: seq, Epoch: room.epoch, Duplicate: true}, nil
	}
	if room.epoch == "" {
		room.epoch = req.EpochCandidate
	}
	room.seq++
	msg.Seq, msg.Epoch = room.seq, room.epoch
	room.stream = append(room.stream, msg)
	if len(room.stream) > r.streamLenMax {
		trimmed := len(room.stream) - r.streamLenMax
		// Slicing off the front is amortized O(1): append copies only the
		// live part when it next grows the array.
		room.stream = room.stream[trimmed:]
	}
	room.dedupe[key] = room.seq
	room.dedupeOrder = append(room.dedupeOrder, key)
	if len(room.dedupeOrder) > r.dedupeLenMax {
		delete(room.dedupe, room.dedupeOrder[0])
		room.dedupeOrder = room.dedupeOrder[1:] // amortized, as the stream
	}
	return node.PublishReply{Seq: room.seq, Epoch: room.epoch}, &msg
}

// Fetch answers a history request (FetchReply's contract in system/node).
func (r *Redis) Fetch(req node.FetchRequest) node.FetchReply {
	room := r.room(req.Room)
	if room.epoch == "" {
		room.epoch = req.EpochCandidate
	}
	reply := node.FetchReply{Epoch: room.epoch, Head: room.seq, First: room.seq + 1}
	if len(room.stream) == 0 {
		return reply
	}
	reply.First = room.stream[0].Seq
	from := max(req.AfterSeq+1, reply.First)
	to := room.seq
	if req.Limit > 0 && req.AfterSeq+uint64(req.Limit) < to {
		to = req.AfterSeq + uint64(req.Limit)
	}
	for seq := from; seq <= to; seq++ {
		reply.Messages = append(reply.Messages, room.stream[seq-reply.First])
	}
	return reply
}

// Head is a room's last seq and epoch, for tests and snapshots.
func (r *Redis) Head(room string) (seq uint64, epoch string) {
	if state := r.rooms[room]; state != nil {
		return state.seq, state.epoch
	}
	return 0, ""
}
