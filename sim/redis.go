package sim

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"chatlab/system/broker/redisscript"
)

// Redis is the simulator's Redis server: a small in-memory keyspace with
// the commands the broker's scripts and the broker itself use (strings,
// INCR, expiry, streams, PUBLISH), on virtual time, so that keys expire as
// the simulation runs. The broker's own Lua scripts (system/broker/
// redisscript) run against it in gopher-lua, the engine miniredis uses:
// the simulator checks the logic production runs, not a second model of it.
//
// Replies take the shapes go-redis gives: int64, string, nil, []any, a
// Status for a status reply and an error (RedisError) for an error reply.
type Redis struct {
	now  func() time.Duration
	keys map[string]*redisValue
	// rooms names every room whose seq key was ever written since the last
	// flush, for sorted snapshots without scanning every key.
	rooms map[string]bool
	lua   *redisLua
	// publish delivers a PUBLISH to the subscribers and says how many got
	// it; nil: nobody listens.
	publish func(channel, payload string) int
	// replid names the replication history this server's data belongs to
	// (INFO replication's master_replid): a replica promoted to master
	// starts a new one.
	replid string
	// recording: every write is also kept in effects, in order, for the
	// replicas (a master of a Redis Cluster). Effects are what the writes
	// did, expiries as absolute times, as Redis 7 replicates a script.
	recording bool
	effects   []redisEffect
}

// redisEffect is one write as a replica applies it.
type redisEffect struct {
	kind     effectKind
	key      string
	text     string
	expireAt time.Duration
	entry    streamEntry
	maxLen   int
	value    *redisValue
}

type effectKind int

const (
	effectSet     effectKind = iota // key holds text, expiring at expireAt (0: never)
	effectDel                       // key is gone
	effectExpire                    // key expires at expireAt
	effectXAdd                      // entry appended to the stream at key, trimmed to maxLen (-1: not)
	effectFlush                     // every key is gone
	effectRestore                   // key holds a copy of value (MIGRATE's RESTORE)
)

// record keeps a write's effect for the replicas, when recording.
func (r *Redis) record(e redisEffect) {
	if r.recording {
		r.effects = append(r.effects, e)
	}
}

// takeEffects hands over the effects recorded since the last call.
func (r *Redis) takeEffects() []redisEffect {
	effects := r.effects
	r.effects = nil
	return effects
}

// apply carries out a master's write on a replica's data.
func (r *Redis) apply(e redisEffect) {
	switch e.kind {
	case effectSet:
		r.set(e.key, &redisValue{text: e.text, expireAt: e.expireAt})
	case effectDel:
		delete(r.keys, e.key)
	case effectExpire:
		if v := r.keys[e.key]; v != nil {
			v.expireAt = e.expireAt
		}
	case effectXAdd:
		s, err := r.stream(e.key, true)
		if err != nil {
			return // cannot happen: the master's XADD succeeded on the same data
		}
		s.entries = append(s.entries, e.entry)
		s.last = e.entry.id
		if e.maxLen >= 0 && len(s.entries) > e.maxLen {
			s.entries = s.entries[len(s.entries)-e.maxLen:]
		}
	case effectFlush:
		r.Flush()
	case effectRestore:
		r.set(e.key, e.value.copied())
	}
}

// copied is a copy of v that nothing done to v later changes (entries are
// shared: nothing changes one once added).
func (v *redisValue) copied() *redisValue {
	c := *v
	if v.stream != nil {
		c.stream = &redisStream{entries: slices.Clone(v.stream.entries), last: v.stream.last}
	}
	return &c
}

// migrateSlot moves every live key of slot to another server's data, as
// MIGRATE does key by key (here all at once): each lands in to as a copy,
// recorded for to's replicas, and is deleted here, recorded for ours.
func (r *Redis) migrateSlot(slot int, to *Redis) {
	var keys []string
	for key := range r.keys { // map order: sorted below
		if redisscript.Slot(key) == slot {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	for _, key := range keys {
		v := r.get(key)
		if v == nil {
			continue // expired
		}
		to.set(key, v.copied())
		to.record(redisEffect{kind: effectRestore, key: key, value: v.copied()})
		delete(r.keys, key)
		r.record(redisEffect{kind: effectDel, key: key})
	}
}

// copyFrom replaces every key with a copy of source's: a replica's full
// resynchronization. Entries are shared: nothing changes one once added.
func (r *Redis) copyFrom(source *Redis) {
	r.Flush()
	for key, v := range source.keys { // map order: each key copied into a map, nothing else
		r.keys[key] = v.copied()
	}
	for room := range source.rooms { // map order: copied into a set
		r.rooms[room] = true
	}
	r.replid = source.replid
}

// Status is a status reply ("OK", "PONG").
type Status string

// RedisError is an error reply, worded as Redis words it.
type RedisError string

func (e RedisError) Error() string { return string(e) }

// Error replies the commands give, as Redis words them.
const (
	errWrongType      = RedisError("WRONGTYPE Operation against a key holding the wrong kind of value")
	errNotInteger     = RedisError("ERR value is not an integer or out of range")
	errSyntax         = RedisError("ERR syntax error")
	errStreamID       = RedisError("ERR Invalid stream ID specified as stream command argument")
	errStreamIDSmall  = RedisError("ERR The ID specified in XADD is equal or smaller than the target stream top item")
	errStreamIDZero   = RedisError("ERR The ID specified in XADD must be greater than 0-0")
	errInvalidExpire  = RedisError("ERR invalid expire time in 'set' command")
	errUnknownCommand = RedisError("ERR unknown command")
)

type redisValue struct {
	// stream is set for a stream; otherwise the value is the string text.
	stream *redisStream
	text   string
	// expireAt is when the key expires in virtual time; 0: never.
	expireAt time.Duration
}

type redisStream struct {
	entries []streamEntry // ascending by id
	last    streamID      // the highest id ever added, even if trimmed
}

type streamID struct{ ms, seq uint64 }

func (a streamID) less(b streamID) bool { return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq) }

func (a streamID) String() string {
	return strconv.FormatUint(a.ms, 10) + "-" + strconv.FormatUint(a.seq, 10)
}

type streamEntry struct {
	id     streamID
	idText string // id as the replies spell it, made once
	fields []string
}

// NewRedis returns an empty Redis whose clock is now.
func NewRedis(now func() time.Duration) *Redis {
	return &Redis{now: now, keys: map[string]*redisValue{}, rooms: map[string]bool{}, replid: replidSingle}
}

// replidSingle is the replication history of a Redis that never fails
// over.
const replidSingle = "5e4d0000000000000000000000000000000000a1"

// Flush loses every key: a restart without persistence.
func (r *Redis) Flush() {
	clear(r.keys)
	clear(r.rooms)
	r.record(redisEffect{kind: effectFlush})
}

// get is the live value of key, nil when absent or expired (an expired key
// is deleted when met, as Redis's lazy expiry does; nothing reads it later).
func (r *Redis) get(key string) *redisValue {
	v := r.keys[key]
	if v != nil && v.expireAt != 0 && r.now() >= v.expireAt {
		delete(r.keys, key)
		return nil
	}
	return v
}

func (r *Redis) set(key string, v *redisValue) {
	r.keys[key] = v
	if room, ok := redisscript.RoomOfSeqKey(key); ok {
		r.rooms[room] = true
	}
}

// Do runs one command. The command name is case-insensitive.
func (r *Redis) Do(args ...string) (any, error) {
	if len(args) == 0 {
		return nil, errUnknownCommand
	}
	name, args := args[0], args[1:]
	command, ok := redisCommands[name]
	if !ok {
		// Scripts and the broker write commands in capitals: look up
		// first, allocate an upper-cased copy only for the rest.
		name = strings.ToUpper(name)
		command, ok = redisCommands[name]
	}
	if !ok {
		return nil, RedisError("ERR unknown command '" + name + "'")
	}
	if len(args) < command.argsMin {
		return nil, RedisError("ERR wrong number of arguments for '" + strings.ToLower(name) + "' command")
	}
	return command.run(r, args)
}

type redisCommand struct {
	argsMin int
	run     func(r *Redis, args []string) (any, error)
}

var redisCommands map[string]redisCommand

func init() {
	redisCommands = map[string]redisCommand{
		"PING":     {0, func(*Redis, []string) (any, error) { return Status("PONG"), nil }},
		"GET":      {1, (*Redis).commandGet},
		"SET":      {2, (*Redis).commandSet},
		"DEL":      {1, (*Redis).commandDel},
		"EXISTS":   {1, (*Redis).commandExists},
		"INCR":     {1, (*Redis).commandIncr},
		"EXPIRE":   {2, (*Redis).commandExpire},
		"PTTL":     {1, (*Redis).commandPTTL},
		"XADD":     {4, (*Redis).commandXAdd},
		"XRANGE":   {3, (*Redis).commandXRange},
		"XLEN":     {1, (*Redis).commandXLen},
		"PEXPIRE":  {2, (*Redis).commandPExpire},
		"PUBLISH":  {2, (*Redis).commandPublish},
		"SPUBLISH": {2, (*Redis).commandPublish},
		"INFO":     {0, (*Redis).commandInfo},
		"FLUSHALL": {0, func(r *Redis, _ []string) (any, error) { r.Flush(); return Status("OK"), nil }},
		"EVAL":     {2, (*Redis).commandEval},
	}
}

func (r *Redis) commandGet(args []string) (any, error) {
	v := r.get(args[0])
	switch {
	case v == nil:
		return nil, nil
	case v.stream != nil:
		return nil, errWrongType
	}
	return v.text, nil
}

// commandSet: SET key value [NX|XX] [EX seconds|PX milliseconds].
func (r *Redis) commandSet(args []string) (any, error) {
	key, text := args[0], args[1]
	var nx, xx, keepTTL bool
	var ttl time.Duration
	for i := 2; i < len(args); i++ {
		switch strings.ToUpper(args[i]) {
		case "NX":
			nx = true
		case "XX":
			xx = true
		case "KEEPTTL":
			keepTTL = true
		case "EX", "PX":
			if i+1 >= len(args) || ttl != 0 {
				return nil, errSyntax
			}
			amount, err := strconv.ParseInt(args[i+1], 10, 64)
			if err != nil {
				return nil, errNotInteger
			}
			if amount <= 0 {
				return nil, errInvalidExpire
			}
			unit := time.Second
			if strings.EqualFold(args[i], "PX") {
				unit = time.Millisecond
			}
			ttl = time.Duration(amount) * unit
			i++
		default:
			return nil, errSyntax
		}
	}
	if nx && xx || keepTTL && ttl > 0 {
		return nil, errSyntax
	}
	old := r.get(key)
	if (nx && old != nil) || (xx && old == nil) {
		return nil, nil
	}
	v := &redisValue{text: text}
	switch {
	case ttl > 0:
		v.expireAt = r.now() + ttl
	case keepTTL && old != nil:
		v.expireAt = old.expireAt
	}
	r.set(key, v)
	r.record(redisEffect{kind: effectSet, key: key, text: text, expireAt: v.expireAt})
	return Status("OK"), nil
}

func (r *Redis) commandDel(args []string) (any, error) {
	deleted := int64(0)
	for _, key := range args {
		if r.get(key) != nil {
			delete(r.keys, key)
			r.record(redisEffect{kind: effectDel, key: key})
			deleted++
		}
	}
	return deleted, nil
}

func (r *Redis) commandExists(args []string) (any, error) {
	count := int64(0)
	for _, key := range args {
		if r.get(key) != nil {
			count++
		}
	}
	return count, nil
}

func (r *Redis) commandIncr(args []string) (any, error) {
	v := r.get(args[0])
	value := int64(0)
	if v != nil {
		if v.stream != nil {
			return nil, errWrongType
		}
		parsed, err := strconv.ParseInt(v.text, 10, 64)
		if err != nil {
			return nil, errNotInteger
		}
		value = parsed
	} else {
		v = &redisValue{}
	}
	value++
	// INCR keeps the key's expiry.
	v.text = strconv.FormatInt(value, 10)
	r.set(args[0], v)
	r.record(redisEffect{kind: effectSet, key: args[0], text: v.text, expireAt: v.expireAt})
	return value, nil
}

func (r *Redis) commandExpire(args []string) (any, error) { return r.expire(args, time.Second) }

func (r *Redis) commandPExpire(args []string) (any, error) { return r.expire(args, time.Millisecond) }

// expire is EXPIRE and PEXPIRE: the key lasts amount units from now.
func (r *Redis) expire(args []string, unit time.Duration) (any, error) {
	amount, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil {
		return nil, errNotInteger
	}
	v := r.get(args[0])
	if v == nil {
		return int64(0), nil
	}
	if amount <= 0 {
		delete(r.keys, args[0])
		r.record(redisEffect{kind: effectDel, key: args[0]})
		return int64(1), nil
	}
	v.expireAt = r.now() + time.Duration(amount)*unit
	r.record(redisEffect{kind: effectExpire, key: args[0], expireAt: v.expireAt})
	return int64(1), nil
}

// commandInfo answers the replication section, all the scripts read.
func (r *Redis) commandInfo([]string) (any, error) {
	return "# Replication\r\nrole:master\r\nmaster_replid:" + r.replid + "\r\nmaster_repl_offset:0\r\n", nil
}

func (r *Redis) commandPTTL(args []string) (any, error) {
	v := r.get(args[0])
	switch {
	case v == nil:
		return int64(-2), nil
	case v.expireAt == 0:
		return int64(-1), nil
	}
	return (v.expireAt - r.now()).Milliseconds(), nil
}

func (r *Redis) stream(key string, create bool) (*redisStream, error) {
	v := r.get(key)
	switch {
	case v == nil && create:
		v = &redisValue{stream: &redisStream{}}
		r.set(key, v)
	case v == nil:
		return nil, nil
	case v.stream == nil:
		return nil, errWrongType
	}
	return v.stream, nil
}

// commandXAdd: XADD key [MAXLEN [=|~] count] id field value [field value...].
// An approximate trim (~) trims exactly, which Redis allows.
func (r *Redis) commandXAdd(args []string) (any, error) {
	key, rest := args[0], args[1:]
	maxLen := -1
	if strings.EqualFold(rest[0], "MAXLEN") {
		rest = rest[1:]
		if len(rest) > 0 && (rest[0] == "=" || rest[0] == "~") {
			rest = rest[1:]
		}
		if len(rest) == 0 {
			return nil, errSyntax
		}
		count, err := strconv.Atoi(rest[0])
		if err != nil || count < 0 {
			return nil, errNotInteger
		}
		maxLen, rest = count, rest[1:]
	}
	if len(rest) < 3 || len(rest)%2 == 0 {
		return nil, RedisError("ERR wrong number of arguments for 'xadd' command")
	}
	s, err := r.stream(key, false)
	if err != nil {
		return nil, err
	}
	last := streamID{}
	if s != nil {
		last = s.last
	}
	id, err := r.newStreamID(rest[0], last)
	if err != nil {
		return nil, err
	}
	if s == nil {
		s, _ = r.stream(key, true)
	}
	entry := streamEntry{id: id, idText: id.String(), fields: slices.Clone(rest[1:])}
	s.entries = append(s.entries, entry)
	s.last = id
	r.record(redisEffect{kind: effectXAdd, key: key, entry: entry, maxLen: maxLen})
	if maxLen >= 0 && len(s.entries) > maxLen {
		// Slicing off the front is amortized O(1): append copies only the
		// live part when it next grows the array.
		s.entries = s.entries[len(s.entries)-maxLen:]
	}
	return s.last.String(), nil
}

// newStreamID is the id XADD gives an entry: the explicit one, which must
// exceed the stream's last, or "*": now in milliseconds.
func (r *Redis) newStreamID(text string, last streamID) (streamID, error) {
	if text == "*" {
		id := streamID{ms: uint64(r.now().Milliseconds())}
		if !last.less(id) {
			id = streamID{ms: last.ms, seq: last.seq + 1}
		}
		return id, nil
	}
	id, err := parseStreamID(text, 0)
	if err != nil {
		return id, err
	}
	if id == (streamID{}) {
		return id, errStreamIDZero
	}
	if !last.less(id) {
		return id, errStreamIDSmall
	}
	return id, nil
}

// parseStreamID reads "ms-seq", or "ms" with seq defaulting to
// seqDefault (0 for a range's start, the highest for its end).
func parseStreamID(text string, seqDefault uint64) (streamID, error) {
	msText, seqText, hasSeq := strings.Cut(text, "-")
	ms, err := strconv.ParseUint(msText, 10, 64)
	if err != nil {
		return streamID{}, errStreamID
	}
	seq := seqDefault
	if hasSeq {
		if seq, err = strconv.ParseUint(seqText, 10, 64); err != nil {
			return streamID{}, errStreamID
		}
	}
	return streamID{ms: ms, seq: seq}, nil
}

// commandXRange: XRANGE key start end [COUNT count].
func (r *Redis) commandXRange(args []string) (any, error) {
	entries, err := r.xrange(args)
	if err != nil {
		return nil, err
	}
	result := make([]any, len(entries))
	for i, e := range entries {
		fields := make([]any, len(e.fields))
		for j, f := range e.fields {
			fields[j] = f
		}
		result[i] = []any{e.idText, fields}
	}
	return result, nil
}

// xrange is the entries XRANGE answers with, shared with the stream: the
// caller must not keep or change them.
func (r *Redis) xrange(args []string) ([]streamEntry, error) {
	if len(args) < 3 {
		return nil, RedisError("ERR wrong number of arguments for 'xrange' command")
	}
	start, end := streamID{}, streamID{ms: ^uint64(0), seq: ^uint64(0)}
	var err error
	if args[1] != "-" {
		if start, err = parseStreamID(args[1], 0); err != nil {
			return nil, err
		}
	}
	if args[2] != "+" {
		if end, err = parseStreamID(args[2], ^uint64(0)); err != nil {
			return nil, err
		}
	}
	count := -1
	switch {
	case len(args) == 5 && strings.EqualFold(args[3], "COUNT"):
		if count, err = strconv.Atoi(args[4]); err != nil {
			return nil, errNotInteger
		}
	case len(args) != 3:
		return nil, errSyntax
	}
	s, err := r.stream(args[0], false)
	if err != nil || s == nil || count == 0 {
		return nil, err
	}
	from, _ := slices.BinarySearchFunc(s.entries, start, func(e streamEntry, id streamID) int {
		if e.id.less(id) {
			return -1
		}
		return 0
	})
	to := from
	for to < len(s.entries) && !end.less(s.entries[to].id) && (count < 0 || to-from < count) {
		to++
	}
	return s.entries[from:to], nil
}

func (r *Redis) commandXLen(args []string) (any, error) {
	s, err := r.stream(args[0], false)
	if err != nil || s == nil {
		return int64(0), err
	}
	return int64(len(s.entries)), nil
}

func (r *Redis) commandPublish(args []string) (any, error) {
	if r.publish == nil {
		return int64(0), nil
	}
	return int64(r.publish(args[0], args[1])), nil
}

// commandEval: EVAL script numkeys key... arg...
func (r *Redis) commandEval(args []string) (any, error) {
	keyCount, err := strconv.Atoi(args[1])
	if err != nil || keyCount < 0 || keyCount > len(args)-2 {
		return nil, RedisError("ERR Number of keys can't be greater than number of args")
	}
	keys := args[2 : 2+keyCount]
	return r.Eval(args[0], keys, args[2+keyCount:])
}

// Eval runs a Lua script atomically, as EVAL does.
func (r *Redis) Eval(source string, keys, args []string) (any, error) {
	if r.lua == nil {
		r.lua = newRedisLua(r)
	}
	return r.lua.run(source, keys, args)
}

// Head is a room's last seq and epoch, as the broker's keys hold them.
func (r *Redis) Head(room string) (seq uint64, epoch string) {
	keys := redisscript.KeysOf(room)
	if v := r.get(keys.Seq); v != nil && v.stream == nil {
		seq, _ = strconv.ParseUint(v.text, 10, 64)
	}
	if v := r.get(keys.Epoch); v != nil && v.stream == nil {
		epoch = v.text
	}
	return seq, epoch
}
