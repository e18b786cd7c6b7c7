package check

import (
	"strings"
	"testing"

	"chatlab/system/client"
)

func welcome(b *historyBuilder) Check {
	return checkWelcome(indexHistory(b.h, ""), b.h)
}

func TestWelcomePassesCleanHistory(t *testing.T) {
	// A connection that closes before its welcome carried nothing: counted.
	b := cleanRoom(trio, 3).disconnect("c").
		event("c", client.Event{Kind: client.KindConnected}).disconnect("c").
		connect("c").join("c", "r", 3, "e1")
	check := welcome(b)
	expectViolations(t, check, 0, "")
	if check.Detail != "5 connections, 1 closed before their welcome, 0 not welcomed first" {
		t.Fatalf("detail %q", check.Detail)
	}
}

// A node that skips the welcome loses no seq: the client joins on connect
// and its rooms work all the same.
func TestWelcomeFlagsAFrameBeforeTheWelcome(t *testing.T) {
	b := cleanRoom(trio, 2).disconnect("c").
		event("c", client.Event{Kind: client.KindConnected}).join("c", "r", 2, "e1").
		message("r", "a-3", 3, "e1", trio...)
	check := welcome(b)
	expectViolations(t, check, 1, "frame_before_welcome")
	if v := check.Examples[0]; v.Client != "c" || !strings.Contains(v.Message, "got a joined") {
		t.Fatalf("%+v", v)
	}
}

func TestWelcomeFlagsAConnectionNeverWelcomed(t *testing.T) {
	b := cleanRoom(trio, 2).disconnect("c").event("c", client.Event{Kind: client.KindConnected}).
		at(20000).message("r", "a-3", 3, "e1", "a", "b")
	expectViolations(t, welcome(b), 1, "no_welcome")
}

func TestWelcomeFlagsASecondWelcome(t *testing.T) {
	b := cleanRoom(trio, 2).event("b", client.Event{Kind: client.KindWelcome, Node: "n2"})
	expectViolations(t, welcome(b), 1, "welcome_twice")
}
