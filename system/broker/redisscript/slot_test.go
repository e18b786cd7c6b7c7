package redisscript

import "testing"

// Slot gives the slots Redis gives: the check value of CRC16/XMODEM, and
// the hash tag rules of the Redis Cluster specification's examples.
func TestSlot(t *testing.T) {
	for _, c := range []struct {
		key  string
		slot int
	}{
		{"123456789", 0x31c3}, // CRC16/XMODEM's check value
		{"", 0},
		{"foo", 12182}, // CLUSTER KEYSLOT foo
		{"{user1000}.following", 3443},
		{"{user1000}.followers", 3443},
		{"user1000", 3443},
		{"foo{}{bar}", crcOf("foo{}{bar}")}, // an empty tag: the whole key
		{"foo{{bar}}zap", Slot("{bar")},     // the tag is "{bar"
		{"foo{bar}{zap}", Slot("bar")},      // the first tag only
	} {
		if got := Slot(c.key); got != c.slot {
			t.Errorf("Slot(%q) = %d; want %d", c.key, got, c.slot)
		}
	}
	keys := KeysOf("room-1")
	for _, key := range []string{keys.Log, keys.Epoch, DedupeKey("room-1", "u", "1"), ShardChannel("room-1"),
		ReplicationKey("room-1")} {
		if Slot(key) != RoomSlot("room-1") {
			t.Errorf("%q is in slot %d; the room's is %d", key, Slot(key), RoomSlot("room-1"))
		}
	}
}

// crcOf is the slot of the whole key, bit by bit (no table): the table's
// cross-check.
func crcOf(key string) int {
	crc := uint16(0)
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % SlotCount
}
