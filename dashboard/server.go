package dashboard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// Bounds on the dashboard's HTTP server.
const (
	readHeaderWait = 10 * time.Second
	// closeWait bounds Close's wait for requests other than feeds (which
	// end at once when the feed closes).
	closeWait = 5 * time.Second
)

// Server is a running dashboard: `chatlab dashboard`, `chatlab up
// --dashboard` and `chatlab chaos --dashboard` start one and publish into
// its Feed.
type Server struct {
	listener net.Listener
	http     *http.Server
	feed     *Feed
	cancel   context.CancelFunc
	done     sync.WaitGroup
}

// Start listens on opts.Listen and serves Handler(opts). When opts names
// nodes or a balancer, a Watcher polls them until Close.
func Start(ctx context.Context, opts Options) (*Server, error) {
	opts.fillDefaults()
	var watcher *Watcher
	if len(opts.Nodes) > 0 || opts.Balancer != "" || opts.BalancerAdmin != "" {
		var err error
		if watcher, err = NewWatcher(opts); err != nil {
			return nil, err
		}
	}
	listener, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Server{listener: listener, feed: opts.Feed, cancel: cancel,
		http: &http.Server{Handler: Handler(opts), ReadHeaderTimeout: readHeaderWait,
			BaseContext: func(net.Listener) context.Context { return runCtx }}}
	s.done.Go(func() {
		if err := s.http.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			opts.Logger.Error("dashboard stopped serving", "err", err)
		}
	})
	if watcher != nil {
		s.done.Go(func() { watcher.Run(runCtx) })
	}
	opts.Logger.Info("dashboard serving", "url", "http://"+browsable(listener.Addr().String())+"/")
	return s, nil
}

// Addr is the address the dashboard serves on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Feed is what the dashboard streams; publish into it.
func (s *Server) Feed() *Feed { return s.feed }

// Close stops the watcher, ends every browser's stream and stops serving.
func (s *Server) Close() {
	s.cancel()
	s.feed.Close()
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		s.http.Close()
	}
	s.done.Wait()
}
