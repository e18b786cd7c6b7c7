package redisscript

import (
	"testing"

	"chatlab/system/node"
)

// A room's shard channel carries the room as the hash tag of its keys, and
// names its room back; the sharded publish call differs from the plain one
// only in its channel and command.
func TestShardChannel(t *testing.T) {
	channel := ShardChannel("r:1")
	if channel != "chatlab:{r:1}:channel" {
		t.Fatalf("shard channel %q", channel)
	}
	if room, ok := RoomOfShardChannel(channel); !ok || room != "r:1" {
		t.Fatalf("room of %q = %q, %v", channel, room, ok)
	}
	for _, other := range []string{Channel("r"), KeysOf("r").Seq, "chatlab:{a}{b}:channel"} {
		if room, ok := RoomOfShardChannel(other); ok {
			t.Errorf("%q named room %q; want none", other, room)
		}
	}
	plain, err := Publish(node.PublishRequest{Room: "r", From: "u", ID: "1", Body: "b", EpochCandidate: "e"}, 10, 60)
	if err != nil {
		t.Fatal(err)
	}
	sharded := Sharded(plain, "r")
	if plain.Args[3] != Channel("r") || plain.Args[7] != "PUBLISH" {
		t.Fatalf("plain call publishes %s on %s", plain.Args[7], plain.Args[3])
	}
	if sharded.Args[3] != ShardChannel("r") || sharded.Args[7] != "SPUBLISH" {
		t.Fatalf("sharded call publishes %s on %s", sharded.Args[7], sharded.Args[3])
	}
	for i := range plain.Args {
		if i != 3 && i != 7 && plain.Args[i] != sharded.Args[i] {
			t.Errorf("argument %d: %q became %q", i+1, plain.Args[i], sharded.Args[i])
		}
	}
}
