package protocol

import (
	"strings"
	"testing"
)

func TestMatchRoom(t *testing.T) {
	for _, tc := range []struct {
		pattern, room string
		want          bool
	}{
		{"lobby", "lobby", true},
		{"lobby", "lobby2", false},
		{"team-*", "team-red", true},
		{"team-*", "team-", true},
		{"team-*", "team", false},
		{"team-*", "xteam-red", false},
		{"*:general", "acme:general", true},
		{"*:general", "acme:random", false},
		{"*", "anything.at:all", true},
		{"a*b*c", "a-x-b-y-c", true},
		{"team-?", "team-a", false}, // not a pattern: ? is no room character
		{"team-[ab]", "team-a", false},
		{`team-\*`, "team-*", false},
	} {
		if got := MatchRoom(tc.pattern, tc.room); got != tc.want {
			t.Errorf("MatchRoom(%q, %q) = %v; want %v", tc.pattern, tc.room, got, tc.want)
		}
	}
}

func TestCheckRoomPattern(t *testing.T) {
	for _, good := range []string{"lobby", "team-*", "*", "a.b_c:d-e*"} {
		if err := CheckRoomPattern(good); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
	for bad, want := range map[string]string{
		"":                      "empty",
		"team/*":                `'/' at byte 4`,
		"team-?":                `'?' at byte 5`,
		strings.Repeat("a", 65): "65 bytes",
	} {
		if err := CheckRoomPattern(bad); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v; want an error with %q", bad, err, want)
		}
	}
}
