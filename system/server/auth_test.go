package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

func TestTokenRoundTrip(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	signed, err := MintToken(testSecret, "alice", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	user, err := VerifyToken(testSecret, signed, now.Add(59*time.Minute))
	if err != nil || user != "alice" {
		t.Fatalf("verify = %q, %v; want alice", user, err)
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
		ttl    time.Duration
		want   string
	}{
		{"short secret", []byte("short"), "alice", time.Hour, "secret is 5 bytes"},
		{"empty user", testSecret, "", time.Hour, "user is empty"},
		{"bad user", testSecret, "al ice", time.Hour, `user has ' ' at byte 2`},
		{"long user", testSecret, strings.Repeat("a", 65), time.Hour, "user is 65 bytes"},
		{"zero ttl", testSecret, "alice", 0, "ttl is 0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := MintToken(tc.secret, tc.user, tc.ttl, now)
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
	expired, err := MintToken(testSecret, "alice", time.Minute, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := MintToken([]byte("not the node's secret, 32 bytes."), "alice", time.Hour, time.Now())
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
