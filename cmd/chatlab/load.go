package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"chatlab/loadgen"
)

// Bounds on load's flags beyond loadgen's own checks.
const (
	urlsMax = 64
	// rssSettleWait is how long the idle benchmark lets the node settle
	// (its GC runs, its buffers return) before reading its memory.
	rssSettleWait = 3 * time.Second
)

// loadOptions is a checked `chatlab load` command line.
type loadOptions struct {
	run     loadgen.Config
	json    string
	nodePID int
}

func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	options, code, done := parseLoadFlags(args, stdout, stderr)
	if done {
		return code
	}
	var rss rssProbe
	if options.nodePID != 0 {
		if err := rss.before(options.nodePID); err != nil {
			fmt.Fprintf(stderr, "chatlab load: --node-pid %d: %v\n", options.nodePID, err)
			return 1
		}
		options.run.OnJoined = func() { rss.after(options.nodePID) }
	}
	fmt.Fprintf(stderr, "chatlab load: %d clients on %s for %s\n", options.run.Clients, strings.Join(options.run.URLs, ","), options.run.Duration)
	summary, err := loadgen.Run(ctx, options.run)
	if err != nil {
		fmt.Fprintf(stderr, "chatlab load: %v\n", err)
		return 1
	}
	if err := summary.WriteTable(stdout); err != nil {
		return 1
	}
	report := loadReport{Summary: summary}
	if options.nodePID != 0 {
		if rss.err != nil {
			fmt.Fprintf(stderr, "chatlab load: node memory: %v\n", rss.err)
			return 1
		}
		report.NodeRSS = &rss.result
		report.NodeRSS.Connections = summary.Clients
		report.NodeRSS.BytesPerConnection = (rss.result.AfterBytes - rss.result.BeforeBytes) / int64(summary.Clients)
		fmt.Fprintf(stdout, "node RSS        %d -> %d bytes: %d bytes per connection\n", rss.result.BeforeBytes,
			rss.result.AfterBytes, report.NodeRSS.BytesPerConnection)
	}
	if options.json != "" {
		data, err := json.MarshalIndent(report, "", "  ")
		if err == nil {
			err = os.WriteFile(options.json, append(data, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "chatlab load: --json: %v\n", err)
			return 1
		}
	}
	return 0
}

// loadReport is --json's content.
type loadReport struct {
	loadgen.Summary
	NodeRSS *rssResult `json:"node_rss,omitempty"`
}

type rssResult struct {
	PID                int   `json:"pid"`
	BeforeBytes        int64 `json:"before_bytes"`
	AfterBytes         int64 `json:"after_bytes"`
	Connections        int   `json:"connections"`
	BytesPerConnection int64 `json:"bytes_per_connection"`
}

// rssProbe reads a process's resident memory before the clients connect
// and once every one has joined.
type rssProbe struct {
	result rssResult
	err    error
}

func (p *rssProbe) before(pid int) error {
	p.result.PID = pid
	p.result.BeforeBytes, p.err = residentBytes(pid)
	return p.err
}

func (p *rssProbe) after(pid int) {
	time.Sleep(rssSettleWait)
	p.result.AfterBytes, p.err = residentBytes(pid)
}

// residentBytes reads VmRSS from /proc/PID/status.
func residentBytes(pid int) (int64, error) {
	file, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer file.Close()
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) == 3 && fields[0] == "VmRSS:" && fields[2] == "kB" {
			kilobytes, err := strconv.ParseInt(fields[1], 10, 64)
			return kilobytes * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

func parseLoadFlags(args []string, stdout, stderr io.Writer) (options loadOptions, code int, done bool) {
	flags := newFlagSet("load", "Drive real WebSocket clients (the system/client state machine) against a balancer or\n"+
		"nodes: client i joins room i%R; senders send at RATE each; every receiver measures\n"+
		"send-to-delivery latency. Prints a summary table; --json writes it too. With --idle the\n"+
		"clients only connect, join and hold: with --node-pid it reports the node's memory per\n"+
		"connection (nodes need --auth off, or pass --token).", stdout, stderr)
	urls := flags.String("url", "", "WebSocket `URL`s, comma-separated, e.g. ws://127.0.0.1:8080/ws (required)")
	clients := flags.Int("clients", 100, "clients to open")
	rooms := flags.Int("rooms", 1, "rooms; client i joins room i % rooms")
	senders := flags.Int("senders", 0, "clients that send (the first ones; 0: all)")
	rate := flags.String("rate", "1/s", "sends per sender, e.g. 2/s or 30/min")
	size := flags.Int("size", 64, "message body `bytes`")
	duration := flags.Duration("duration", 10*time.Second, "how long to send (or, with --idle, to hold)")
	idle := flags.Bool("idle", false, "connect, join and hold; send nothing")
	connectRate := flags.Int("connect-rate", 500, "connections opened per second")
	settle := flags.Duration("settle", 10*time.Second, "how long to wait after sending for acks and deliveries")
	seed := flags.Uint64("seed", 1, "seed of the clients' jitter and the senders' phases")
	token := flags.String("token", "", "bearer token for every client (default: each client is ?user=NAME)")
	jsonPath := flags.String("json", "", "also write the summary as JSON to this `file`")
	nodePID := flags.Int("node-pid", 0, "report this node process's RSS growth per connection (Linux /proc)")
	if code, done := flags.parse(args); done {
		return loadOptions{}, code, true
	}
	fail := func(format string, args ...any) (loadOptions, int, bool) {
		return loadOptions{}, flags.usageError(format, args...), true
	}
	if *urls == "" {
		return fail("--url is required, e.g. --url ws://127.0.0.1:8080/ws")
	}
	list := strings.Split(*urls, ",")
	if len(list) > urlsMax {
		return fail("--url: %d URLs, at most %d", len(list), urlsMax)
	}
	for _, raw := range list {
		parsed, err := url.Parse(raw)
		if err != nil || (parsed.Scheme != "ws" && parsed.Scheme != "wss") || parsed.Host == "" {
			return fail("--url %q: want ws://HOST:PORT/ws", raw)
		}
	}
	perSecond, err := parseRate(*rate)
	if err != nil {
		return fail("--rate %q: %s", *rate, err)
	}
	if *nodePID < 0 || (*nodePID > 0 && !*idle) {
		return fail("--node-pid %d: give a process id, with --idle", *nodePID)
	}
	if *settle <= 0 {
		return fail("--settle %s: want more than 0", *settle)
	}
	cfg := loadgen.Config{URLs: list, Token: *token, Clients: *clients, Rooms: *rooms, Senders: *senders,
		SendRatePerClient: perSecond, MessageBytes: *size, Duration: *duration, Idle: *idle,
		ConnectsPerSecond: *connectRate, SettleWait: *settle, Seed: *seed}
	if err := cfg.Check(); err != nil {
		return fail("%s", err)
	}
	return loadOptions{run: cfg, json: *jsonPath, nodePID: *nodePID}, 0, false
}

// parseRate reads "2/s", "30/min" or a bare number (per second).
func parseRate(text string) (float64, error) {
	number, unit, found := strings.Cut(text, "/")
	perUnit := 1.0
	if found {
		switch unit {
		case "s":
		case "min":
			perUnit = 60
		default:
			return 0, fmt.Errorf("unit %q: want /s or /min", unit)
		}
	}
	value, err := strconv.ParseFloat(number, 64)
	if err != nil || value < 0 {
		return 0, fmt.Errorf("want a number of sends, e.g. 2/s")
	}
	return value / perUnit, nil
}
