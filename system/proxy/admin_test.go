package proxy

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"chatlab/system/balance"
)

const testAdminToken = "0123456789abcdef-operator"

// lockedBuffer collects log lines written from the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(data []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(data)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startAdminProxy(t *testing.T, token string, logs *lockedBuffer, backends ...balance.Backend) *Proxy {
	t.Helper()
	p, err := Start(context.Background(), Config{
		Listen:     "127.0.0.1:0",
		AdminToken: token,
		Balance:    balance.Config{Backends: backends, NewConnectionsPerSecondMax: 1000},
		CloseWait:  time.Second,
		Logger:     slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func call(t *testing.T, method, url string, headers map[string]string, body string) int {
	t.Helper()
	request, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for name, value := range headers {
		request.Header.Set(name, value)
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	response.Body.Close()
	return response.StatusCode
}

// The public port serves clients and probes only: a drain from anyone on
// the internet (the cross-site one a browser page could send included)
// gets nowhere, and /state, which names the nodes' addresses, is not there.
func TestOperatorEndpointsAreOffThePublicPort(t *testing.T) {
	n1 := newEchoBackend(t, "n1")
	p := startAdminProxy(t, testAdminToken, &lockedBuffer{}, balance.Backend{Name: "n1", Addr: n1.addr()})
	crossSite := map[string]string{"Origin": "https://evil.example", "Content-Type": "text/plain"}
	for _, path := range []string{"/backends/n1/drain", "/backends/n1/undrain"} {
		if status := call(t, http.MethodPost, "http://"+p.Addr()+path, crossSite, ""); status/100 == 2 {
			t.Errorf("public POST %s = %d", path, status)
		}
	}
	for _, path := range []string{"/state", "/metrics", "/debug/pprof/heap?gc=1"} {
		if status := call(t, http.MethodGet, "http://"+p.Addr()+path, nil, ""); status != http.StatusNotFound {
			t.Errorf("public GET %s = %d, want 404", path, status)
		}
		if status := call(t, http.MethodGet, "http://"+p.AdminAddr()+path, nil, ""); status != http.StatusOK {
			t.Errorf("admin GET %s = %d, want 200", path, status)
		}
	}
	if backendState(p, "n1").Draining {
		t.Fatal("a public request drained n1")
	}
	if host, _, _ := net.SplitHostPort(p.AdminAddr()); host != "127.0.0.1" {
		t.Errorf("admin listener on %s by default, want loopback", p.AdminAddr())
	}
}

// On the admin listener a drain needs the token, from no other site, with
// no body but JSON; each attempt is logged with its caller.
func TestDrainNeedsTheTokenAndRefusesCrossSiteRequests(t *testing.T) {
	n1 := newEchoBackend(t, "n1")
	logs := &lockedBuffer{}
	p := startAdminProxy(t, testAdminToken, logs, balance.Backend{Name: "n1", Addr: n1.addr()})
	drain := "http://" + p.AdminAddr() + "/backends/n1/drain"
	bearer := "Bearer " + testAdminToken
	for _, refused := range []struct {
		name    string
		headers map[string]string
		body    string
		status  int
	}{
		{"no token", nil, "", http.StatusUnauthorized},
		{"wrong token", map[string]string{"Authorization": "Bearer 0123456789abcdef-intruder"}, "", http.StatusUnauthorized},
		{"token as basic auth", map[string]string{"Authorization": "Basic " + testAdminToken}, "", http.StatusUnauthorized},
		{"cross-site origin", map[string]string{"Authorization": bearer, "Origin": "https://evil.example"}, "", http.StatusForbidden},
		{"cross-site fetch", map[string]string{"Authorization": bearer, "Sec-Fetch-Site": "cross-site"}, "", http.StatusForbidden},
		{"form body", map[string]string{"Authorization": bearer, "Content-Type": "application/x-www-form-urlencoded"}, "a=b", http.StatusUnsupportedMediaType},
		{"text body", map[string]string{"Authorization": bearer, "Content-Type": "text/plain"}, "{}", http.StatusUnsupportedMediaType},
	} {
		if status := call(t, http.MethodPost, drain, refused.headers, refused.body); status != refused.status {
			t.Errorf("%s: %d, want %d", refused.name, status, refused.status)
		}
	}
	if backendState(p, "n1").Draining {
		t.Fatal("a refused request drained n1")
	}
	if status := call(t, http.MethodPost, drain, map[string]string{"Authorization": bearer, "Content-Type": "application/json",
		"User-Agent": "operator-script/1"}, "{}"); status != http.StatusOK {
		t.Fatalf("drain with the token: %d", status)
	}
	if !backendState(p, "n1").Draining {
		t.Fatal("n1 not draining after an accepted drain")
	}
	if status := call(t, http.MethodPost, "http://"+p.AdminAddr()+"/backends/n1/undrain", map[string]string{"Authorization": bearer}, ""); status != http.StatusOK {
		t.Fatalf("undrain with the token: %d", status)
	}
	log := logs.String()
	if count := strings.Count(log, "admin action refused"); count != 7 {
		t.Errorf("%d refusals logged, want 7:\n%s", count, log)
	}
	for _, want := range []string{"action=drain target=n1 remote=127.0.0.1:", "user_agent=operator-script/1 status=200",
		"action=undrain target=n1 remote=127.0.0.1:"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// Without a token the drain API is off altogether.
func TestDrainIsOffWithoutAToken(t *testing.T) {
	n1 := newEchoBackend(t, "n1")
	p := startAdminProxy(t, "", &lockedBuffer{}, balance.Backend{Name: "n1", Addr: n1.addr()})
	if status := call(t, http.MethodPost, "http://"+p.AdminAddr()+"/backends/n1/drain", map[string]string{"Authorization": "Bearer "}, ""); status != http.StatusForbidden {
		t.Fatalf("drain with no token configured: %d, want 403", status)
	}
}
