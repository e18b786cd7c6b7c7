// Command chatlab is the one binary of chatlab: the chat node, the
// balancer, token minting and the lab that breaks them (docs/DESIGN.md).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand. run gets the arguments after the command's
// name and returns the exit code: 0 done, 1 failed, 2 bad usage.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands is the subcommand table, in the order help lists them.
var commands = []command{
	{"node", "run a chat node: WebSocket clients, Redis fanout; /metrics, /state on its admin listener", runNode},
	{"balancer", "run the WebSocket load balancer in front of the nodes: /ws; /metrics, /state, drain on its admin listener", runBalancer},
	{"token", "mint a signed auth token for a user", runToken},
	{"chaos", "run a scenario on a target, check every operation, write a report", runChaos},
	{"hunt", "generate scenarios with random faults, run them on the simulator, shrink each failure", runHunt},
	{"scenarios", "list the scenarios (faults and expectations) the lab can run", runScenarios},
	{"up", "run a local cluster (nodes, balancer, Redis) until interrupted", runUp},
	{"load", "drive real WebSocket clients at a cluster; latency and throughput summary", runLoad},
	{"dashboard", "serve the live dashboard: cluster map, charts, checks, chat pane, past runs", runDashboard},
}

func main() {
	// SIGTERM and SIGINT cancel ctx: a running node drains and exits 0.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "chatlab: missing command")
		printUsage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		printUsage(stdout)
		return 0
	case "help":
		if len(args) == 1 {
			printUsage(stdout)
			return 0
		}
		cmd, ok := lookup(args[1])
		if !ok {
			return unknownCommand(stderr, args[1])
		}
		return cmd.run(ctx, []string{"--help"}, stdout, stderr)
	}
	cmd, ok := lookup(name)
	if !ok {
		return unknownCommand(stderr, name)
	}
	return cmd.run(ctx, args[1:], stdout, stderr)
}

func lookup(name string) (command, bool) {
	for _, cmd := range commands {
		if cmd.name == name {
			return cmd, true
		}
	}
	return command{}, false
}

// invocation starts every command chatlab prints for a person to run
// (replays, hints, usage): the binary as make build leaves it, run from
// the repository root, so that what is printed can be pasted as it is.
const invocation = "bin/chatlab"

func unknownCommand(stderr io.Writer, name string) int {
	fmt.Fprintf(stderr, "chatlab: unknown command %q\nRun '"+invocation+" --help' for the list of commands.\n", name)
	return 2
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "chatlab: a distributed WebSocket chat and a lab that breaks it on purpose.")
	fmt.Fprintln(w, "\nUsage: "+invocation+" COMMAND [flags]")
	fmt.Fprintln(w, "\nCommands:")
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", cmd.name, cmd.summary)
	}
	fmt.Fprintln(w, "\nRun '"+invocation+" COMMAND --help' or '"+invocation+" help COMMAND' for a command's flags.")
}
