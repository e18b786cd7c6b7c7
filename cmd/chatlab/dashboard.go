package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"chatlab/dashboard"
)

// Bounds on the dashboard's flags.
const (
	dashboardNodesFlagMax     = 64
	dashboardPollIntervalMin  = 100 * time.Millisecond
	dashboardPollIntervalMax  = time.Minute
	dashboardListenDefault    = "127.0.0.1:7070"
	dashboardNodesFlagExample = "n1=127.0.0.1:8081,n2=127.0.0.1:8082"
)

func runDashboard(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("dashboard", "Serve the live dashboard: the cluster map, charts, event log, checker panel, chat pane and\n"+
		"past runs (reports/runs). With --nodes and --balancer it watches a running cluster (`make up`,\n"+
		"or `chatlab up`) by polling their /state on their admin listeners; the chat pane opens clients\n"+
		"through the balancer.", stdout, stderr)
	listen := flags.String("listen", dashboardListenDefault, "address to serve on, host:port")
	nodes := flags.String("nodes", "", "nodes to watch, NAME=HOST:PORT,... (their --admin-listen address, where /state is), e.g. "+dashboardNodesFlagExample)
	balancer := flags.String("balancer", "", "the balancer to chat through, HOST:PORT (its public address)")
	balancerAdmin := flags.String("balancer-admin", "", "the balancer to watch, HOST:PORT (its --admin-listen address, where /state is)")
	runs := flags.String("runs", "reports/runs", "`directory` of past runs to list")
	pollInterval := flags.Duration("poll-interval", time.Second, "how often to poll the watched cluster's /state")
	logFormat := flags.String("log-format", "text", "log format: text or json")
	logLevel := flags.String("log-level", "info", "log level: debug, info, warn or error")
	if code, done := flags.parse(args); done {
		return code
	}
	if err := checkListen(*listen); err != nil {
		return flags.usageError("%s", err)
	}
	watched, err := parseWatchedNodes(*nodes)
	if err != nil {
		return flags.usageError("%s", err)
	}
	if *balancer != "" {
		if err := checkListen(*balancer); err != nil {
			return flags.usageError("--balancer %q: want HOST:PORT", *balancer)
		}
	}
	if *balancerAdmin != "" {
		if err := checkListen(*balancerAdmin); err != nil {
			return flags.usageError("--balancer-admin %q: want HOST:PORT", *balancerAdmin)
		}
	}
	if *pollInterval < dashboardPollIntervalMin || *pollInterval > dashboardPollIntervalMax {
		return flags.usageError("--poll-interval %s: want %s to %s", *pollInterval, dashboardPollIntervalMin, dashboardPollIntervalMax)
	}
	logger, err := newLogger(*logFormat, *logLevel, stderr)
	if err != nil {
		return flags.usageError("%s", err)
	}
	server, err := dashboard.Start(ctx, dashboard.Options{Listen: *listen, RunsDir: *runs, Nodes: watched,
		Balancer: *balancer, BalancerAdmin: *balancerAdmin, PollInterval: *pollInterval, Logger: logger})
	if err != nil {
		logger.Error("dashboard failed to start", "err", err)
		return 1
	}
	fmt.Fprintf(stdout, "chatlab dashboard: http://%s/\n", server.Addr())
	<-ctx.Done()
	server.Close()
	return 0
}

// parseWatchedNodes reads NAME=HOST:PORT,...; an empty list watches no
// node (the dashboard then shows past runs and whatever is published).
func parseWatchedNodes(list string) ([]dashboard.Target, error) {
	if list == "" {
		return nil, nil
	}
	entries := strings.Split(list, ",")
	if len(entries) > dashboardNodesFlagMax {
		return nil, fmt.Errorf("--nodes: %d nodes, at most %d", len(entries), dashboardNodesFlagMax)
	}
	seen := map[string]bool{}
	targets := make([]dashboard.Target, 0, len(entries))
	for _, entry := range entries {
		name, addr, found := strings.Cut(strings.TrimSpace(entry), "=")
		if !found {
			return nil, fmt.Errorf("--nodes: %q is not NAME=HOST:PORT (e.g. %s)", entry, dashboardNodesFlagExample)
		}
		if err := checkNodeID(name); err != nil || name == "balancer" || name == "redis" {
			return nil, fmt.Errorf("--nodes: node name %q: want 1 to 32 characters of A-Z a-z 0-9 . _ -, not balancer or redis", name)
		}
		if err := checkListen(addr); err != nil {
			return nil, fmt.Errorf("--nodes: %s=%q: want HOST:PORT", name, addr)
		}
		if seen[name] {
			return nil, fmt.Errorf("--nodes: node %q named twice", name)
		}
		seen[name] = true
		targets = append(targets, dashboard.Target{Name: name, Addr: addr})
	}
	return targets, nil
}
