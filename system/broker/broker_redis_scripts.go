package broker

import (
	_ "embed"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// The scripts run by EVALSHA, falling back to EVAL when Redis does not know
// them yet (after a restart): go-redis's Script does both.
var (
	//go:embed broker_redis_publish.lua
	publishSource string
	publishScript = redis.NewScript(publishSource)

	//go:embed broker_redis_fetch.lua
	fetchSource string
	fetchScript = redis.NewScript(fetchSource)
)

// Every key of a room carries the room as a hash tag, so that a script's
// keys live in one slot on Redis Cluster. Room names cannot hold braces
// (protocol.CheckRoom), so the tag is the room exactly.
const keyPrefix = "chatlab:"

// channelPrefix names the pub/sub channel of a room. Channels are not keys
// and need no hash tag.
const channelPrefix = "chatlab:room:"

// roomKeys are the keys of one room's state in Redis.
type roomKeys struct {
	seq   string // the room's last seq (its head)
	log   string // the stream of messages, entry id "<seq>-0"
	epoch string // the name of the room's history
}

func keysOf(room string) roomKeys {
	tag := keyPrefix + "{" + room + "}:"
	return roomKeys{seq: tag + "seq", log: tag + "log", epoch: tag + "epoch"}
}

// dedupeKey names a send by (from, id). From is prefixed by its length so
// that no two (from, id) pairs share a key: users and ids may contain ':'.
func dedupeKey(room, from, id string) string {
	return keyPrefix + "{" + room + "}:dedupe:" + strconv.Itoa(len(from)) + ":" + from + ":" + id
}

func channelOf(room string) string {
	return channelPrefix + room
}

// streamID is the stream entry id of a seq.
func streamID(seq uint64) string {
	return strconv.FormatUint(seq, 10) + "-0"
}
