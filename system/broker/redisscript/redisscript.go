// Package redisscript is the broker's Redis logic without a connection: the
// Lua scripts, the keys and arguments of each call, how replies and pub/sub
// payloads are read. The Redis adapter (system/broker) sends these calls over
// go-redis; the simulator (sim) runs the same scripts in gopher-lua against
// its own in-memory Redis. One source for both, so that what the simulator
// checks is what production runs. It does no I/O and keeps no state.
package redisscript

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"

	"chatlab/system/node"
	"chatlab/system/protocol"
)

// The scripts' sources. Redis runs them by EVALSHA (falling back to EVAL);
// the simulator compiles them once.
var (
	//go:embed publish.lua
	publishBody string
	//go:embed fetch.lua
	fetchBody string
	//go:embed fence.lua
	fenceSource string

	// Each script starts with the epoch fencing function both share.
	PublishSource = fenceSource + publishBody
	FetchSource   = fenceSource + fetchBody
)

// Defaults of the bounds a publish carries.
const (
	// HistoryLenMaxDefault is how many messages a room's stream holds.
	HistoryLenMaxDefault = 10000
	// DedupeTTLSecondsDefault is how long a send's (from, id) is
	// remembered: a retry later than that is a new message.
	DedupeTTLSecondsDefault = 600
	// ProvisionalEpochTTLSeconds is how long an epoch a fetch named (a join
	// of a room nobody wrote to) lasts once nobody reads the room: joins
	// alone must not fill Redis with permanent keys. It loses nothing: an
	// epoch with no message names an empty history.
	ProvisionalEpochTTLSeconds = 600
	// RoomIdleTTLSecondsDefault is how long a room's keys (seq, stream,
	// epoch) last after its last message: a week.
	RoomIdleTTLSecondsDefault = 7 * 24 * 3600
)

// KeyPrefix starts every key. Every key of a room carries the room as a
// hash tag, so that a script's keys live in one slot on Redis Cluster. Room
// names cannot hold braces (protocol.CheckRoom), so the tag is the room
// exactly.
const KeyPrefix = "chatlab:"

// ChannelPrefix names the pub/sub channel of a room. Channels are not keys
// and need no hash tag.
const ChannelPrefix = "chatlab:room:"

// RoomKeys are the keys of one room's state in Redis.
type RoomKeys struct {
	Seq   string // the room's last seq (its head)
	Log   string // the stream of messages, entry id "<seq>-0"
	Epoch string // the name of the room's history
}

// KeysOf names a room's keys.
func KeysOf(room string) RoomKeys {
	tag := KeyPrefix + "{" + room + "}:"
	return RoomKeys{Seq: tag + "seq", Log: tag + "log", Epoch: tag + "epoch"}
}

// RoomOfSeqKey is the room whose seq key this is, if it is one.
func RoomOfSeqKey(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, KeyPrefix+"{")
	if !ok {
		return "", false
	}
	room, ok := strings.CutSuffix(rest, "}:seq")
	if !ok || strings.ContainsAny(room, "{}") {
		return "", false
	}
	return room, true
}

// DedupeKey names a send by (from, id). From is prefixed by its length so
// that no two (from, id) pairs share a key: users and ids may contain ':'.
func DedupeKey(room, from, id string) string {
	return KeyPrefix + "{" + room + "}:dedupe:" + strconv.Itoa(len(from)) + ":" + from + ":" + id
}

// Channel is the pub/sub channel of a room.
func Channel(room string) string { return ChannelPrefix + room }

// ShardChannel is the sharded pub/sub channel of a room on Redis Cluster
// (SPUBLISH, SSUBSCRIBE): it carries the room as its hash tag, so that it
// lives in the slot of the room's keys, where the publish script runs.
func ShardChannel(room string) string { return KeyPrefix + "{" + room + "}:channel" }

// RoomOfShardChannel is the room whose shard channel this is, if it is one.
func RoomOfShardChannel(channel string) (string, bool) {
	rest, ok := strings.CutPrefix(channel, KeyPrefix+"{")
	if !ok {
		return "", false
	}
	room, ok := strings.CutSuffix(rest, "}:channel")
	if !ok || strings.ContainsAny(room, "{}") {
		return "", false
	}
	return room, true
}

// RoomOfChannel is the room whose channel this is, if it is one.
func RoomOfChannel(channel string) (string, bool) { return strings.CutPrefix(channel, ChannelPrefix) }

// StreamID is the stream entry id of a seq.
func StreamID(seq uint64) string { return strconv.FormatUint(seq, 10) + "-0" }

// Call is one script run: its source, keys and arguments, as Redis gets
// them.
type Call struct {
	Source string
	Keys   []string
	Args   []string
}

// messageFields is a message without seq and epoch: the publish script adds
// them once it knows them.
type messageFields struct {
	Type string `json:"type"`
	Room string `json:"room"`
	ID   string `json:"id"`
	From string `json:"from"`
	Body string `json:"body"`
	TS   int64  `json:"ts"`
}

// Publish is the script call that accepts one send in recover mode, a
// room's keys lasting RoomIdleTTLSecondsDefault after its last message.
func Publish(req node.PublishRequest, historyLenMax, dedupeTTLSeconds int) (Call, error) {
	return PublishExpiring(req, historyLenMax, dedupeTTLSeconds, RoomIdleTTLSecondsDefault)
}

// PublishExpiring is Publish with the room's keys lasting roomIdleTTLSeconds
// after its last message (0: for ever).
func PublishExpiring(req node.PublishRequest, historyLenMax, dedupeTTLSeconds, roomIdleTTLSeconds int) (Call, error) {
	if err := protocol.CheckRoom(req.Room); err != nil {
		return Call{}, err
	}
	if req.EpochCandidate == "" {
		return Call{}, fmt.Errorf("room %q: epoch candidate is empty", req.Room)
	}
	fields, err := json.Marshal(messageFields{Type: protocol.TypeMsg, Room: req.Room, ID: req.ID, From: req.From,
		Body: req.Body, TS: req.TS})
	if err != nil {
		return Call{}, fmt.Errorf("room %q: encode message: %w", req.Room, err)
	}
	keys := KeysOf(req.Room)
	return Call{
		Source: PublishSource,
		Keys:   []string{keys.Seq, keys.Log, keys.Epoch, DedupeKey(req.Room, req.From, req.ID)},
		Args: []string{req.EpochCandidate, strconv.Itoa(historyLenMax), strconv.Itoa(dedupeTTLSeconds),
			Channel(req.Room), string(fields[1:]), BodyDigest(req.Body), strconv.Itoa(roomIdleTTLSeconds), "PUBLISH"},
	}, nil
}

// Sharded turns a publish call of room into its Redis Cluster form: the
// script SPUBLISHes on the room's shard channel instead of PUBLISHing on
// its channel, which Redis Cluster would broadcast to every node.
func Sharded(call Call, room string) Call {
	args := slices.Clone(call.Args)
	args[3], args[7] = ShardChannel(room), "SPUBLISH"
	call.Args = args
	return call
}

// PublishAfterWait turns a publish call into one whose script publishes
// nothing: its caller waits for replicas to have the write (WAIT), then
// publishes the message the script hands back (PublishReplyHeld).
func PublishAfterWait(call Call) Call {
	args := slices.Clone(call.Args)
	args[7] = ""
	call.Args = args
	return call
}

// PublishReplyHeld reads the reply of a PublishAfterWait call: the reply and
// the message to publish once replicas have it ("" when a retry's message
// was trimmed from history meanwhile; nothing to publish on a conflict).
func PublishReplyHeld(result []any) (node.PublishReply, string, error) {
	if len(result) == 3 {
		// A conflict: nothing applied, nothing to publish.
		reply, err := PublishReply(result)
		if err == nil && !reply.Conflict {
			err = fmt.Errorf("script replied %#v; want the message last", result)
		}
		return reply, "", err
	}
	if len(result) != 4 {
		return node.PublishReply{}, "", fmt.Errorf("script replied %d values; want 4", len(result))
	}
	message, ok := result[3].(string)
	if !ok {
		return node.PublishReply{}, "", fmt.Errorf("script replied %#v; want the message last", result)
	}
	reply, err := PublishReply(result[:3])
	return reply, message, err
}

// FetchBeforeWait turns a fetch call into one that writes (the room's epoch
// again, as it is), so that a WAIT after it covers every write it read: its
// caller answers only once replicas have what it read.
func FetchBeforeWait(call Call) Call { return withArg(call, 4, "1") }

// ReplicationKey names the replication history (the master's replid) a
// room was last written under, for epoch fencing.
func ReplicationKey(room string) string { return KeyPrefix + "{" + room + "}:replid" }

// PublishFenced turns a publish call of room into one with epoch fencing:
// a room last written under another replication history (a failover
// since: the promoted replica may lack writes whose seqs it would hand out
// again) starts a new epoch.
func PublishFenced(call Call, room string) Call {
	call.Keys = append(slices.Clone(call.Keys), ReplicationKey(room))
	return withArg(call, 8, "1")
}

// FetchFenced is PublishFenced for a fetch call.
func FetchFenced(call Call, room string) Call {
	call.Keys = append(slices.Clone(call.Keys), ReplicationKey(room))
	return withArg(call, 5, "1")
}

// withArg sets argument i (from 0) of call, with empty ones before it.
func withArg(call Call, i int, value string) Call {
	args := slices.Clone(call.Args)
	for len(args) <= i {
		args = append(args, "")
	}
	args[i] = value
	call.Args = args
	return call
}

// PublishReply reads the publish script's reply, as go-redis returns it.
func PublishReply(result []any) (node.PublishReply, error) {
	if len(result) != 3 {
		return node.PublishReply{}, fmt.Errorf("script replied %d values; want 3", len(result))
	}
	seq, seqOK := result[0].(int64)
	epoch, epochOK := result[1].(string)
	duplicate, duplicateOK := result[2].(int64)
	if !seqOK || !epochOK || !duplicateOK || seq < 1 {
		return node.PublishReply{}, fmt.Errorf("script replied %#v; want {seq, epoch, duplicate}", result)
	}
	return node.PublishReply{Seq: uint64(seq), Epoch: epoch, Duplicate: duplicate == 1, Conflict: duplicate == 2}, nil
}

// BodyDigest names a send's body in its dedupe entry, so that a retry of
// an id with another body is told apart from a true retry: FNV-1a, 128
// bits, in hex (no colon: the entry is seq:digest:epoch). Not a defence
// against a sender forging a collision, which could only fool itself.
func BodyDigest(body string) string {
	digest := fnv.New128a()
	digest.Write([]byte(body))
	return fmt.Sprintf("%x", digest.Sum(nil))
}

// PubSubPublish is the channel and payload of a send in pubsub mode: PUBLISH
// only, no seq, no history.
func PubSubPublish(req node.PublishRequest) (channel, payload string, err error) {
	if err := protocol.CheckRoom(req.Room); err != nil {
		return "", "", err
	}
	message, err := json.Marshal(protocol.Msg{Type: protocol.TypeMsg, Room: req.Room, ID: req.ID, From: req.From,
		Body: req.Body, TS: req.TS})
	if err != nil {
		return "", "", fmt.Errorf("room %q: encode message: %w", req.Room, err)
	}
	return Channel(req.Room), string(message), nil
}

// Fetch is the script call that reads a room's history after req.AfterSeq:
// the held seqs in (AfterSeq, AfterSeq+Limit], with the room's head, first
// held seq and epoch.
func Fetch(req node.FetchRequest) (Call, error) {
	if err := protocol.CheckRoom(req.Room); err != nil {
		return Call{}, err
	}
	if req.EpochCandidate == "" {
		return Call{}, fmt.Errorf("room %q: epoch candidate is empty", req.Room)
	}
	if req.Limit < 1 {
		return Call{}, fmt.Errorf("room %q: limit is %d; it must be at least 1", req.Room, req.Limit)
	}
	if req.AfterSeq >= math.MaxInt64 {
		return Call{}, fmt.Errorf("room %q: after seq %d is beyond any seq", req.Room, req.AfterSeq)
	}
	last := req.AfterSeq + uint64(req.Limit)
	if last > math.MaxInt64 {
		last = math.MaxInt64
	}
	keys := KeysOf(req.Room)
	return Call{
		Source: FetchSource,
		Keys:   []string{keys.Seq, keys.Log, keys.Epoch},
		Args: []string{req.EpochCandidate, StreamID(req.AfterSeq + 1), StreamID(last),
			strconv.Itoa(ProvisionalEpochTTLSeconds)},
	}, nil
}

// FetchReply reads the fetch script's reply, as go-redis returns it.
func FetchReply(result []any) (node.FetchReply, error) {
	if len(result) != 4 {
		return node.FetchReply{}, fmt.Errorf("script replied %d values; want 4", len(result))
	}
	epoch, epochOK := result[0].(string)
	head, headOK := result[1].(int64)
	first, firstOK := result[2].(int64)
	encoded, encodedOK := result[3].([]any)
	if !epochOK || !headOK || !firstOK || !encodedOK || head < 0 || first < 1 || first > head+1 {
		return node.FetchReply{}, fmt.Errorf("script replied %#v; want {epoch, head, first, messages}", result)
	}
	reply := node.FetchReply{Epoch: epoch, Head: uint64(head), First: uint64(first)}
	if len(encoded) > 0 {
		reply.Messages = make([]protocol.Msg, len(encoded))
	}
	for i, value := range encoded {
		text, ok := value.(string)
		if !ok {
			return node.FetchReply{}, fmt.Errorf("history entry %d is %T; want a string", i, value)
		}
		if err := json.Unmarshal([]byte(text), &reply.Messages[i]); err != nil {
			return node.FetchReply{}, fmt.Errorf("history entry %d: %w", i, err)
		}
	}
	return reply, nil
}

// Message reads a payload that arrived on a room's channel. It fails on
// anything this broker does not publish there.
func Message(channel, payload string) (protocol.Msg, error) {
	room, ok := RoomOfChannel(channel)
	if !ok {
		return protocol.Msg{}, fmt.Errorf("channel %q is not a room's", channel)
	}
	var msg protocol.Msg
	if err := json.Unmarshal([]byte(payload), &msg); err != nil || msg.Room != room {
		return protocol.Msg{}, fmt.Errorf("undecodable message on room channel %q: %.64q", channel, payload)
	}
	return msg, nil
}
