package server

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"chatlab/system/protocol"
)

func TestTokenRoundTrip(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	signed, err := MintToken(testSecret, "alice", []string{"lobby", "team-*"}, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := VerifyToken(testSecret, signed, now.Add(59*time.Minute))
	if err != nil || claims.User != "alice" || !slices.Equal(claims.Rooms, []string{"lobby", "team-*"}) || !claims.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("verify = %+v, %v; want alice, lobby and team-*, expiring in an hour", claims, err)
	}
	unclaimed, err := MintToken(testSecret, "alice", nil, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if claims, err := VerifyToken(testSecret, unclaimed, now); err != nil || claims.Rooms != nil {
		t.Fatalf("a token minted without rooms verified as %+v, %v; want no rooms claim", claims, err)
	}
	if _, err := VerifyToken(testSecret, signed, now.Add(61*time.Minute)); err == nil {
		t.Fatal("an expired token verified")
	}
	if _, err := VerifyToken([]byte("another secret of 32 bytes......"), signed, now); err == nil {
		t.Fatal("a token signed with another secret verified")
	}
	tampered := signed[:len(signed)-2] + "xx"
	if _, err := VerifyToken(testSecret, tampered, now); err == nil {
		t.Fatal("a tampered token verified")
	}
	// alg "none" must never be accepted, whatever the payload says.
	parts := strings.Split(signed, ".")
	unsigned := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + "."
	if _, err := VerifyToken(testSecret, unsigned, now); err == nil {
		t.Fatal("an unsigned (alg none) token verified")
	}
}

func TestMintRefusesBadInput(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name   string
		secret []byte
		user   string
		rooms  []string
		ttl    time.Duration
		want   string
	}{
		{"short secret", []byte("short"), "alice", nil, time.Hour, "secret is 5 bytes"},
		{"empty user", testSecret, "", nil, time.Hour, "user is empty"},
		{"bad user", testSecret, "al ice", nil, time.Hour, `user has ' ' at byte 2`},
		{"long user", testSecret, strings.Repeat("a", 65), nil, time.Hour, "user is 65 bytes"},
		{"zero ttl", testSecret, "alice", nil, 0, "ttl is 0s"},
		{"bad room", testSecret, "alice", []string{"a/b"}, time.Hour, `'/' at byte 1`},
		{"empty room", testSecret, "alice", []string{""}, time.Hour, "room pattern is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := MintToken(tc.secret, tc.user, tc.rooms, tc.ttl, now)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want one containing %q", err, tc.want)
			}
		})
	}
}

// A missing or bad token is refused with 401 before the upgrade; a good one,
// as ?token= or as a bearer header, names the user.
func TestAuthOn(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", nil)
	expired, err := MintToken(testSecret, "alice", nil, time.Minute, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := MintToken([]byte("not the node's secret, 32 bytes."), "alice", nil, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		query string
		want  string
	}{
		{"missing", "", "missing token"},
		{"user without auth off", userQuery("alice"), "missing token"},
		{"garbage", "token=abc", "bad token"},
		{"expired", "token=" + expired, "bad token"},
		{"other secret", "token=" + foreign, "bad token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := dialStatus(t, srv, tc.query, nil)
			if status != http.StatusUnauthorized || !strings.Contains(body, tc.want) {
				t.Fatalf("got %d %q; want 401 with %q", status, body, tc.want)
			}
		})
	}
	if welcome := dialWelcome(t, srv, "token="+token(t, "alice"), nil); welcome != "alice" {
		t.Fatalf("?token= welcomed %q; want alice", welcome)
	}
	header := http.Header{"Authorization": {"Bearer " + token(t, "bob")}}
	if welcome := dialWelcome(t, srv, "", header); welcome != "bob" {
		t.Fatalf("bearer token welcomed %q; want bob", welcome)
	}
}

func TestAuthOff(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", func(cfg *Config) { cfg.Auth, cfg.Secret = false, nil })
	if welcome := dialWelcome(t, srv, userQuery("carol"), nil); welcome != "carol" {
		t.Fatalf("welcomed %q; want carol", welcome)
	}
	for _, query := range []string{"", userQuery(""), userQuery("no spaces"), userQuery(strings.Repeat("x", 65))} {
		if status, _ := dialStatus(t, srv, query, nil); status != http.StatusUnauthorized {
			t.Fatalf("query %q got %d; want 401", query, status)
		}
	}
}

func TestOriginCheck(t *testing.T) {
	m := miniredis.RunT(t)
	sameHost := startNode(t, m, "a", nil)
	listed := startNode(t, m, "b", func(cfg *Config) { cfg.AllowedOrigins = []string{"https://chat.example"} })
	query := "token=" + token(t, "alice")
	foreign := http.Header{"Origin": {"https://evil.example"}}
	if status, _ := dialStatus(t, sameHost, query, foreign); status != http.StatusForbidden {
		t.Fatalf("foreign origin got %d; want 403", status)
	}
	dialWelcome(t, sameHost, query, http.Header{"Origin": {"http://" + sameHost.Addr()}})
	if status, _ := dialStatus(t, listed, query, foreign); status != http.StatusForbidden {
		t.Fatalf("unlisted origin got %d; want 403", status)
	}
	dialWelcome(t, listed, query, http.Header{"Origin": {"https://CHAT.example"}})
	if _, err := parseOrigins([]string{"chat.example"}); err == nil {
		t.Fatal("an origin without a scheme was accepted")
	}
}

// A token's rooms claim decides which rooms its connection may join: a
// room it does not name is refused with forbidden and the connection goes
// on; names and patterns are granted.
func TestRoomsClaim(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", nil)
	c := dial(t, srv, "token="+tokenFor(t, "alice", []string{"lobby", "team-*"}))
	c.write(protocol.Join{Type: protocol.TypeJoin, Room: "admin"})
	if refused := c.next(); refused.Type != protocol.TypeError || refused.Code != protocol.CodeForbidden || refused.Ref != "admin" {
		t.Fatalf("join of a room the token does not name: %+v; want error forbidden naming it", refused)
	}
	c.join("lobby")
	c.join("team-red")
	c.write(protocol.Join{Type: protocol.TypeJoin, Room: "teams"})
	if refused := c.next(); refused.Code != protocol.CodeForbidden {
		t.Fatalf("join of teams with team-*: %+v; want forbidden", refused)
	}
	// The connection still works after the refusals.
	c.write(protocol.Send{Type: protocol.TypeSend, Room: "lobby", ID: "a-1", Body: "hello"})
	if ack := c.nextOf(protocol.TypeAck); ack.ID != "a-1" {
		t.Fatalf("ack %+v", ack)
	}
}

// Without a rooms claim, the node's RoomsOpen decides: closed by default
// with auth on, open when set, open by default with auth off.
func TestRoomsOpen(t *testing.T) {
	m := miniredis.RunT(t)
	unclaimed := "token=" + tokenFor(t, "alice", nil)
	closed := startNode(t, m, "closed", nil)
	c := dial(t, closed, unclaimed)
	c.write(protocol.Join{Type: protocol.TypeJoin, Room: "lobby"})
	if refused := c.next(); refused.Code != protocol.CodeForbidden {
		t.Fatalf("auth on, no rooms claim, default: %+v; want forbidden", refused)
	}
	open := true
	dial(t, startNode(t, m, "open", func(cfg *Config) { cfg.RoomsOpen = &open }), unclaimed).join("lobby")
	dial(t, startNode(t, m, "off", func(cfg *Config) { cfg.Auth, cfg.Secret = false, nil }), userQuery("bob")).join("lobby")
	shut := false
	off := dial(t, startNode(t, m, "off-closed", func(cfg *Config) { cfg.Auth, cfg.Secret, cfg.RoomsOpen = false, nil, &shut }), userQuery("bob"))
	off.write(protocol.Join{Type: protocol.TypeJoin, Room: "lobby"})
	if refused := off.next(); refused.Code != protocol.CodeForbidden {
		t.Fatalf("auth off with rooms closed: %+v; want forbidden", refused)
	}
	// A claim overrides an open node.
	limited := dial(t, startNode(t, m, "open2", func(cfg *Config) { cfg.RoomsOpen = &open }), "token="+tokenFor(t, "carol", []string{"lobby"}))
	limited.write(protocol.Join{Type: protocol.TypeJoin, Room: "other"})
	if refused := limited.next(); refused.Code != protocol.CodeForbidden {
		t.Fatalf("claim on an open node: %+v; want forbidden", refused)
	}
}

// A connection is closed with 4001 when its token expires.
func TestExpiredTokenClosesWith4001(t *testing.T) {
	m := miniredis.RunT(t)
	srv := startNode(t, m, "a", nil)
	// Expiry has a resolution of one second: this token lasts one to two.
	short, err := MintToken(testSecret, "alice", []string{"*"}, 2*time.Second, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, srv, "token="+short)
	c.join("lobby")
	if code := c.closeCode(); code != protocol.CloseTokenExpired {
		t.Fatalf("close %d; want %d", code, protocol.CloseTokenExpired)
	}
	long := dial(t, srv, "token="+token(t, "bob"))
	long.join("lobby")
	long.write(protocol.Send{Type: protocol.TypeSend, Room: "lobby", ID: "b-1", Body: "still here"})
	long.nextOf(protocol.TypeAck)
}
