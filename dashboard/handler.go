package dashboard

import (
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// Options configure the dashboard.
type Options struct {
	// Listen is the address Start serves on, host:port ("127.0.0.1:0"
	// picks a free port).
	Listen string
	// Feed is what /api/feed streams; nil makes a new one.
	Feed *Feed
	// RunsDir holds past runs, one folder each (default reports/runs).
	RunsDir string
	// Nodes and BalancerAdmin name a running cluster to watch: Start polls
	// their /state, served on their admin listeners. Balancer is the
	// balancer's public address, where the chat pane connects (and what is
	// watched when BalancerAdmin is empty).
	Nodes         []Target
	Balancer      string
	BalancerAdmin string
	// PollInterval is how often the cluster is polled (default 1 s).
	PollInterval time.Duration
	// PollTimeout bounds one poll; a component that does not answer
	// within it shows down (default 8/10 of PollInterval, so that a poll
	// ends before the next one is due).
	PollTimeout time.Duration
	// Logger receives the dashboard's logs (default slog.Default()).
	Logger *slog.Logger
}

// Target is one node to watch: its name and its admin address, host:port.
type Target struct {
	Name string
	Addr string
}

const runsDirDefault = "reports/runs"

func (opts *Options) fillDefaults() {
	if opts.Feed == nil {
		opts.Feed = NewFeed()
	}
	if opts.RunsDir == "" {
		opts.RunsDir = runsDirDefault
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = pollIntervalDefault
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
}

// Handler serves the app and its API:
//
//	GET /                       the app (or a page saying how to build it)
//	GET /api/feed               the feed as server-sent events
//	GET /api/runs               past runs, newest first ([]RunSummary)
//	GET /api/runs/{id}/{file}   one file of a run (report.json, index.html, ...)
//	GET /api/chat               whether there is a cluster to chat on (ChatInfo)
//	GET /api/chat/ws?user=NAME  a chat client, relayed to the balancer's /ws
func Handler(opts Options) http.Handler {
	opts.fillDefaults()
	var runs fs.FS = os.DirFS(opts.RunsDir)
	mux := http.NewServeMux()
	mux.Handle("GET /", serveApp())
	mux.Handle("GET /api/feed", serveFeed(opts.Feed))
	mux.Handle("GET /api/runs", serveRunList(runs))
	mux.Handle("GET /api/runs/{id}/{file...}", serveRunFile(runs))
	mux.Handle("GET /api/chat", serveChat(opts.Balancer))
	mux.Handle("GET /api/chat/ws", serveChatRelay(opts.Balancer, new(atomic.Int32)))
	return mux
}

// ChatInfo tells the chat pane whether it can open clients: RelayPath
// (same origin, ?user=NAME) carries each one to BalancerURL. Both are empty
// when there is no real cluster to chat on (a sim run).
type ChatInfo struct {
	BalancerURL string `json:"balancer_url"`
	RelayPath   string `json:"relay_path"`
}

func serveChat(balancer string) http.HandlerFunc {
	info := ChatInfo{}
	if balancer != "" {
		info.BalancerURL = "ws://" + browsable(balancer) + "/ws"
		info.RelayPath = "/api/chat/ws"
	}
	return func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, info) }
}

// browsable turns a listen address into one a browser on this machine can
// dial: an empty or unspecified host becomes 127.0.0.1.
func browsable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
