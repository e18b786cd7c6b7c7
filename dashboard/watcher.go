package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Bounds on watching a running cluster.
const (
	pollIntervalDefault = time.Second
	// watchNodesMax bounds the nodes polled at once (one request each).
	watchNodesMax = 64
	// stateBytesMax bounds one /state answer: it lists rooms, so allow many.
	stateBytesMax = 8 << 20
)

// Watcher polls a running cluster's /state endpoints (each node's and the
// balancer's) and publishes what it sees into a Feed: the topology once,
// then component changes, log lines and once-a-round stats.
type Watcher struct {
	feed     *Feed
	nodes    []Target
	balancer string
	interval time.Duration
	client   *http.Client
	state    *watchState
}

// NewWatcher checks opts and returns a watcher of opts.Nodes and
// opts.Balancer that publishes into opts.Feed.
func NewWatcher(opts Options) (*Watcher, error) {
	opts.fillDefaults()
	balancer := opts.BalancerAdmin
	if balancer == "" {
		balancer = opts.Balancer
	}
	if len(opts.Nodes) == 0 && balancer == "" {
		return nil, fmt.Errorf("dashboard: nothing to watch: give nodes or a balancer")
	}
	if len(opts.Nodes) > watchNodesMax {
		return nil, fmt.Errorf("dashboard: %d nodes to watch, at most %d", len(opts.Nodes), watchNodesMax)
	}
	seen := map[string]bool{balancerName: true, redisName: true}
	for _, target := range opts.Nodes {
		if target.Name == "" || target.Addr == "" || seen[target.Name] {
			return nil, fmt.Errorf("dashboard: node %q at %q: want a unique name (not balancer or redis) and an address", target.Name, target.Addr)
		}
		seen[target.Name] = true
	}
	timeout := opts.PollTimeout
	if timeout <= 0 {
		// A poll must end before the next one is due.
		timeout = opts.PollInterval * 8 / 10
	}
	return &Watcher{feed: opts.Feed, nodes: opts.Nodes, balancer: balancer, interval: opts.PollInterval,
		client: &http.Client{Timeout: timeout}, state: newWatchState()}, nil
}

// Run polls until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	started := time.Now()
	w.feed.Publish(Run{Mode: ModeWatch, State: RunRunning})
	topology := Topology{Nodes: make([]string, len(w.nodes)), Redis: redisName}
	for i, target := range w.nodes {
		topology.Nodes[i] = target.Name
	}
	if w.balancer != "" {
		topology.Balancer = balancerName
	}
	w.feed.Publish(topology)
	w.feed.Publish(Log{Text: fmt.Sprintf("watching %d nodes every %s", len(w.nodes), w.interval)})
	ticker := time.NewTicker(w.interval)
	defer ticker.Stop()
	for {
		for _, event := range w.state.observe(w.poll(ctx, time.Since(started).Milliseconds())) {
			w.feed.Publish(event)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// poll asks every component for its /state at once.
func (w *Watcher) poll(ctx context.Context, tMs int64) poll {
	round := poll{TMs: tMs, Nodes: make([]nodePoll, len(w.nodes))}
	var wg sync.WaitGroup
	for i, target := range w.nodes {
		wg.Go(func() {
			round.Nodes[i] = nodePoll{Name: target.Name}
			round.Nodes[i].OK = w.fetch(ctx, target.Addr, &round.Nodes[i].State)
		})
	}
	if w.balancer != "" {
		round.Balancer = &balancerPoll{}
		wg.Go(func() { round.Balancer.OK = w.fetch(ctx, w.balancer, &round.Balancer.State) })
	}
	wg.Wait()
	return round
}

// fetch reads addr's /state into into; false when it did not answer well.
func (w *Watcher) fetch(ctx context.Context, addr string, into any) bool {
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+browsable(addr)+"/state", nil)
	if err != nil {
		return false
	}
	response, err := w.client.Do(request)
	if err != nil {
		return false
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return false
	}
	return json.NewDecoder(io.LimitReader(response.Body, stateBytesMax)).Decode(into) == nil
}
