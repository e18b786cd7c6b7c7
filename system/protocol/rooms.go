package protocol

import (
	"fmt"
	"path"
)

// RoomPatternsMax bounds the room names and patterns one credential may
// grant: matching a join walks them all.
const RoomPatternsMax = 64

// CheckRoomPattern validates a room grant: a room name, in which `*` may
// stand for any run of room characters (`team-*`, `*:general`, `*` for
// every room). 1 to RoomBytesMax bytes.
func CheckRoomPattern(pattern string) error {
	if pattern == "" {
		return fmt.Errorf("room pattern is empty")
	}
	if len(pattern) > RoomBytesMax {
		return fmt.Errorf("room pattern is %d bytes; the limit is %d", len(pattern), RoomBytesMax)
	}
	for i := 0; i < len(pattern); i++ {
		if !roomByte(pattern[i]) && pattern[i] != '*' {
			return fmt.Errorf("room pattern %q has %q at byte %d; allowed are A-Z a-z 0-9 . _ : - and *", truncate(pattern, 32), pattern[i], i)
		}
	}
	return nil
}

// MatchRoom reports whether room is granted by pattern (CheckRoomPattern):
// the same name, or one the pattern's `*`s expand to. A pattern that does
// not pass CheckRoomPattern matches nothing.
func MatchRoom(pattern, room string) bool {
	if CheckRoomPattern(pattern) != nil {
		return false
	}
	// Room characters hold none of path.Match's other metacharacters
	// (?, [, \) nor its separator, so `*` is the only wildcard here.
	matched, err := path.Match(pattern, room)
	return err == nil && matched
}
