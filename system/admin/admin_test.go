package admin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Act is what an operator's tool sends: a guarded action passes with the
// token and is refused, saying its status, without it.
func TestActPassesTheGuardWithTheTokenOnly(t *testing.T) {
	const token = "0123456789abcdef0123"
	done := 0
	mux := http.NewServeMux()
	mux.HandleFunc("POST /backends/{name}/drain", NewGuard(token, slog.New(slog.NewTextHandler(io.Discard, nil))).Action("drain",
		func(http.ResponseWriter, *http.Request) { done++ }))
	server := httptest.NewServer(mux)
	defer server.Close()
	addr := strings.TrimPrefix(server.URL, "http://")
	ctx := context.Background()
	if err := Act(ctx, addr, "/backends/n1/drain", token); err != nil || done != 1 {
		t.Fatalf("with the token: %v, the action ran %d times; want nil, once", err, done)
	}
	if err := Act(ctx, addr, "/backends/n1/drain", "not-the-token-at-all"); err == nil || !strings.Contains(err.Error(), "401") || done != 1 {
		t.Fatalf("with another token: %v, the action ran %d times; want 401 and no run", err, done)
	}
	if err := Act(ctx, addr, "/backends/n1/nothing", token); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("an unknown action: %v; want 404", err)
	}
}
