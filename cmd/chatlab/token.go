package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"chatlab/system/server"
)

// tokenTTLMax bounds a token's lifetime: tokens cannot be revoked, only
// outlived.
const tokenTTLMax = 365 * 24 * time.Hour

func runToken(_ context.Context, args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("token", "Mint a signed token (JWT HS256) naming USER, for ?token= or Authorization: Bearer.\n"+
		"The secret comes from --secret-file, else from $"+secretEnv+"; nodes must use the same one.\n"+
		"--rooms names the rooms the token may join (its rooms claim); without it, each node's\n"+
		"--rooms-open decides (by default a node with auth on lets such a token join no room).", stdout, stderr)
	user := flags.String("user", "", "the user the token names (required; 1-64 of A-Z a-z 0-9 . _ -)")
	ttl := flags.Duration("ttl", 24*time.Hour, "how long the token stays valid")
	rooms := flags.String("rooms", "", "comma-separated rooms the token may join: names, and patterns in which * stands for any run of room characters (team-*); empty: no rooms claim")
	secretFile := flags.String("secret-file", "", "file holding the HS256 secret (default $"+secretEnv+")")
	if code, done := flags.parse(args); done {
		return code
	}
	if *user == "" {
		return flags.usageError("--user is required")
	}
	if err := server.CheckUser(*user); err != nil {
		return flags.usageError("--user %q: %s", *user, err)
	}
	if *ttl <= 0 || *ttl > tokenTTLMax {
		return flags.usageError("--ttl %s: want more than 0 and at most %s", *ttl, tokenTTLMax)
	}
	var roomList []string
	if *rooms != "" {
		roomList = strings.Split(*rooms, ",")
	}
	if err := server.CheckRooms(roomList); err != nil {
		return flags.usageError("--rooms %q: %s", *rooms, err)
	}
	secret, err := loadSecret(*secretFile)
	if err != nil {
		return flags.usageError("%s", err)
	}
	token, err := server.MintToken(secret, *user, roomList, *ttl, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "chatlab token: %s\n", err)
		return 1
	}
	fmt.Fprintln(stdout, token)
	return 0
}
