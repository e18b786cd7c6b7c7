package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"chatlab/chaos/local"
	"chatlab/scenarios"
	"chatlab/system/balance"
	"chatlab/system/node"
)

// Bounds on up's flags.
const (
	upNodesMax = 16
	// upStartWait bounds bringing the whole cluster up.
	upStartWait = 60 * time.Second
)

func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("up", "Run a local cluster with no faults: node processes, the balancer and an embedded Redis on\n"+
		"127.0.0.1 (nodes under --auth off: connect with ?user=NAME). Prints where to connect and\n"+
		"runs until interrupted (Ctrl-C), then stops every process.", stdout, stderr)
	nodes := flags.Int("nodes", 3, "how many nodes (n1, n2, ...)")
	dashboard := flags.String("dashboard", "", "also serve the dashboard on this `address`, e.g. 127.0.0.1:7070")
	delivery := flags.String("delivery", string(node.Recover), "delivery mode: recover or pubsub")
	policy := flags.String("policy", string(balance.LeastConnections), "balancer policy: round-robin, least-conn or hash-user")
	redis := flags.String("redis", local.RedisEmbedded, "Redis: embedded (inside this process) or redis-server (a child)")
	runDir := flags.String("run-dir", "", "`directory` for the processes' logs (default: a new temporary one)")
	if code, done := flags.parse(args); done {
		return code
	}
	if *nodes < 1 || *nodes > upNodesMax {
		return flags.usageError("--nodes %d: want 1 to %d", *nodes, upNodesMax)
	}
	if *dashboard != "" {
		if err := checkListen(*dashboard); err != nil {
			return flags.usageError("--dashboard %q: want host:port", *dashboard)
		}
	}
	mode, ok := node.ParseDelivery(*delivery)
	if !ok {
		return flags.usageError("--delivery %q: want recover or pubsub", *delivery)
	}
	chosen, ok := balance.ParsePolicy(*policy)
	if !ok {
		return flags.usageError("--policy %q: want round-robin, least-conn or hash-user", *policy)
	}
	if *redis != local.RedisEmbedded && *redis != local.RedisServer {
		return flags.usageError("--redis %q: want %s or %s", *redis, local.RedisEmbedded, local.RedisServer)
	}
	binary, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "chatlab up: cannot find my own binary: %v\n", err)
		return 1
	}
	names := make([]string, 0, *nodes)
	for i := 1; i <= *nodes; i++ {
		names = append(names, "n"+strconv.Itoa(i))
	}
	startCtx, cancel := context.WithTimeout(ctx, upStartWait)
	cluster, err := local.Start(startCtx, local.Config{Binary: binary, Nodes: names, Delivery: mode, Policy: chosen,
		Redis: *redis, RunDir: *runDir, Dashboard: *dashboard})
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "chatlab up: %v\n", err)
		return 1
	}
	defer cluster.Close()
	printCluster(stdout, cluster, *dashboard)
	<-ctx.Done()
	fmt.Fprintln(stdout, "chatlab up: stopping")
	return 0
}

func printCluster(w io.Writer, cluster *local.Cluster, dashboard string) {
	balancer, _ := cluster.AdminAddr(scenarios.BalancerName)
	fmt.Fprintf(w, "chatlab up: %d nodes, a balancer and Redis on 127.0.0.1 (logs in %s)\n\n", len(cluster.Nodes()), cluster.RunDir())
	fmt.Fprintf(w, "  connect    %s?user=NAME   (the balancer)\n", cluster.BalancerURL())
	fmt.Fprintf(w, "  balancer   http://%s/state   (admin; drain API token in %s/admin-token)\n", balancer, cluster.RunDir())
	for i, name := range cluster.Nodes() {
		addr, _ := cluster.AdminAddr(name)
		fmt.Fprintf(w, "  %-10s %s   http://%s/state\n", name, cluster.NodeURLs()[i], addr)
	}
	fmt.Fprintf(w, "  redis      %s\n", cluster.RedisAddr())
	if dashboard != "" {
		fmt.Fprintf(w, "  dashboard  http://%s/\n", dashboard)
	}
	fmt.Fprintln(w, "\nTry: "+invocation+" load --url "+cluster.BalancerURL()+" --clients 50 --rate 1/s --duration 30s")
	fmt.Fprintln(w, "Ctrl-C stops the cluster.")
}
