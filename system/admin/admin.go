// Package admin serves a real runtime's operator endpoints (system/server's
// and system/proxy's /state, /metrics and actions such as a backend's
// drain) on a listener of their own, apart from the public port clients
// reach, and guards the actions among them: a bearer token, no cross-site
// request, and a log line naming the caller of every one.
package admin

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"chatlab/system/socket"
)

const (
	// shutdownWait bounds the wait for requests in flight on Close.
	shutdownWait = 2 * time.Second
	// TokenBytesMin keeps a guessable token out: 16 characters at least.
	TokenBytesMin = 16
)

// Server is one running admin listener.
type Server struct {
	listener net.Listener
	http     *http.Server
	done     chan struct{}
	log      *slog.Logger
}

// Serve serves handler on listener until Close.
func Serve(listener net.Listener, handler http.Handler, logger *slog.Logger) *Server {
	s := &Server{listener: listener, done: make(chan struct{}), log: logger,
		http: &http.Server{Handler: handler, ReadHeaderTimeout: socket.HTTPHeaderWait, IdleTimeout: socket.HTTPIdleWait,
			MaxHeaderBytes: socket.HTTPHeaderBytesMax, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}}
	go func() {
		defer close(s.done)
		if err := s.http.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("admin serve failed", "err", err)
		}
	}()
	return s
}

// Addr is where the admin endpoints are served.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Close stops serving, giving requests in flight a moment.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
	defer cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		s.http.Close()
	}
	<-s.done
}

// ServeProfiles adds Go's profiles (CPU, heap, goroutines, mutex...) under
// /debug/pprof/ to an admin mux: go tool pprof http://ADMIN/debug/pprof/profile.
// The heap profile with ?gc=1 collects garbage first, which the lab asks
// for before it reads a process's heap at the end of a soak.
func ServeProfiles(mux *http.ServeMux) {
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}

// CheckToken says what is wrong with an admin token, if anything.
func CheckToken(token string) error {
	if len(token) < TokenBytesMin {
		return errors.New("admin token: want at least 16 characters")
	}
	return nil
}

// Guard protects operator actions: each request must come from no browser
// page of another site (Sec-Fetch-Site, Origin), carry no body but JSON,
// and present the bearer token. With no token configured every action is
// refused: an operator who wants them sets one. Every attempt is logged
// with its caller.
type Guard struct {
	token     string
	crossSite *http.CrossOriginProtection
	log       *slog.Logger
}

// NewGuard guards with token ("" refuses every action).
func NewGuard(token string, logger *slog.Logger) *Guard {
	return &Guard{token: token, crossSite: http.NewCrossOriginProtection(), log: logger}
}

// Action wraps handle, an operator action named action; handle runs only
// for a request that passes every check.
func (g *Guard) Action(action string, handle http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status, why := g.refusal(r)
		caller := []any{"action", action, "target", r.PathValue("name"), "remote", r.RemoteAddr, "user_agent", r.UserAgent()}
		if status != 0 {
			g.log.Warn("admin action refused", append(caller, "status", status, "reason", why)...)
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="chatlab admin"`)
			}
			http.Error(w, why, status)
			return
		}
		recorder := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		handle(recorder, r)
		g.log.Info("admin action", append(caller, "status", recorder.status)...)
	}
}

// refusal is the status and reason a request is refused with, 0 if none.
func (g *Guard) refusal(r *http.Request) (int, string) {
	if err := g.crossSite.Check(r); err != nil {
		return http.StatusForbidden, "cross-site request refused"
	}
	if contentType := r.Header.Get("Content-Type"); contentType != "" || r.ContentLength > 0 {
		if media, _, err := mime.ParseMediaType(contentType); err != nil || media != "application/json" {
			return http.StatusUnsupportedMediaType, "admin actions take no body, or a JSON one"
		}
	}
	if g.token == "" {
		return http.StatusForbidden, "admin actions are off: start with --admin-token-file to allow them"
	}
	presented, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !found || subtle.ConstantTimeCompare([]byte(presented), []byte(g.token)) != 1 {
		return http.StatusUnauthorized, "admin actions need Authorization: Bearer <admin token>"
	}
	return 0, ""
}

// Act asks the admin listener at addr (host:port) for one of its guarded
// actions: a POST of path with the bearer token. An answer other than 2xx
// is an error saying its status.
func Act(ctx context.Context, addr, path, token string) error {
	request, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, nil)
	if err != nil {
		return err
	}
	request.Header.Set("Authorization", "Bearer "+token)
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		return err
	}
	response.Body.Close()
	if response.StatusCode/100 != 2 {
		return errors.New(response.Status)
	}
	return nil
}

// statusRecorder remembers the status a handler answered with, for the log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}
