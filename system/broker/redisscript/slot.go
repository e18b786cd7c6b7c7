package redisscript

import "strings"

// SlotCount is how many hash slots Redis Cluster spreads keys over.
const SlotCount = 16384

// Slot is the hash slot of key on Redis Cluster, as Redis computes it
// (CLUSTER KEYSLOT): CRC16 (XMODEM) of the key's hash tag, modulo
// SlotCount. The hash tag is what lies between the first '{' and the first
// '}' after it, when that is not empty; otherwise the whole key. Every key
// and the shard channel of a room carry the room as their tag, so they
// share one slot: the room's.
func Slot(key string) int {
	if open := strings.IndexByte(key, '{'); open >= 0 {
		if close := strings.IndexByte(key[open+1:], '}'); close > 0 {
			key = key[open+1 : open+1+close]
		}
	}
	crc := uint16(0)
	for i := 0; i < len(key); i++ {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^key[i]]
	}
	return int(crc) % SlotCount
}

// RoomSlot is the slot of every key of room.
func RoomSlot(room string) int { return Slot(KeysOf(room).Seq) }

// crc16Table is CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0),
// the table Redis's crc16.c holds, computed once.
var crc16Table = func() (table [256]uint16) {
	for i := range table {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		table[i] = crc
	}
	return table
}()
