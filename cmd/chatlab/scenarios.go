package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"chatlab/chaos"
	"chatlab/scenarios"
)

// scenarioListWidth is the line width the list wraps descriptions at.
const scenarioListWidth = 100

func runScenarios(_ context.Context, args []string, stdout, stderr io.Writer) int {
	flags := newFlagSet("scenarios", "List the scenarios built into chatlab, with their descriptions;\n"+
		"'"+invocation+" chaos --scenario NAME' runs one. With --check FILE, parse a scenario file of your own\n"+
		"instead: exit 0 when it is sound, 2 with file:line: problem when not.", stdout, stderr)
	asJSON := flags.Bool("json", false, "print JSON for machines instead of the aligned list")
	check := flags.String("check", "", "parse this scenario `file` and report its first problem")
	target := flags.String("target", "", "list only the scenarios this `target` (sim, local, docker) runs rather than refuses")
	names := flags.Bool("names", false, "print the names only, one a line (for scripts: for name in $(chatlab scenarios --names --target sim))")
	if code, done := flags.parse(args); done {
		return code
	}
	list := scenarios.All()
	if *target != "" {
		var err error
		if list, err = scenariosFor(*target, list); err != nil {
			return flags.usageError("%s", err)
		}
	}
	if *names {
		for _, s := range list {
			fmt.Fprintln(stdout, s.Name)
		}
		return 0
	}
	if *check != "" {
		s, err := scenarios.LoadFile(*check)
		var parseError *scenarios.ParseError
		switch {
		case errors.As(err, &parseError):
			fmt.Fprintf(stderr, "chatlab scenarios: %s\n", err)
			return 2
		case err != nil:
			return flags.usageError("--check: %s", err)
		}
		if !*asJSON {
			fmt.Fprintf(stdout, "%s: ok: scenario %s, %d nodes, %d clients, %d faults over %s\n",
				s.File, s.Name, len(s.Topology.Nodes), s.Workload.Clients, len(s.Faults), s.Workload.Duration)
			return 0
		}
		list = []*scenarios.Scenario{s}
	}
	if *asJSON {
		return printScenariosJSON(stdout, stderr, list)
	}
	printScenarioList(stdout, list)
	return 0
}

// scenariosFor keeps the scenarios target runs: the simulator refuses
// those judged on the processes themselves (no-leak), the local target
// those with faults it cannot make (a Redis Cluster shard's partition),
// the docker target those with faults Docker cannot carry out and those on
// a Redis Cluster.
func scenariosFor(target string, list []*scenarios.Scenario) ([]*scenarios.Scenario, error) {
	var kept []*scenarios.Scenario
	for _, s := range list {
		switch target {
		case "sim":
			if s.ProcessProperty() != "" {
				continue
			}
		case "local":
			if chaos.LocalUnsupported(s) != nil {
				continue
			}
		case "docker":
			if _, err := chaos.NewDockerCluster(s, chaos.DockerOptions{}); err != nil {
				continue
			}
		default:
			return nil, fmt.Errorf("--target %q: want sim, local or docker", target)
		}
		kept = append(kept, s)
	}
	return kept, nil
}

// printScenarioList prints each name, then its description wrapped and
// indented past the longest name.
func printScenarioList(w io.Writer, list []*scenarios.Scenario) {
	nameWidth := 0
	for _, s := range list {
		nameWidth = max(nameWidth, len(s.Name))
	}
	indent := strings.Repeat(" ", nameWidth+2)
	for _, s := range list {
		lines := wrapWords(s.Description, scenarioListWidth-len(indent))
		for i, line := range lines {
			if i == 0 {
				fmt.Fprintf(w, "%-*s  %s\n", nameWidth, s.Name, line)
			} else {
				fmt.Fprintf(w, "%s%s\n", indent, line)
			}
		}
	}
}

// wrapWords breaks text into lines of at most width characters (a longer
// word gets a line of its own).
func wrapWords(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) > width:
			lines = append(lines, line)
			line = word
		default:
			line += " " + word
		}
	}
	return append(lines, line)
}

// scenarioJSON is a scenario as --json prints it: what a dashboard or a CI
// script needs to choose and describe a run.
type scenarioJSON struct {
	Name        string               `json:"name"`
	Description string               `json:"description"`
	File        string               `json:"file"`
	Nodes       []string             `json:"nodes"`
	Policy      string               `json:"policy"`
	Delivery    string               `json:"delivery"`
	Clients     int                  `json:"clients"`
	Rooms       int                  `json:"rooms"`
	DurationMs  int64                `json:"duration_ms"`
	Faults      []scenarioFaultJSON  `json:"faults"`
	Hold        []scenarios.Property `json:"hold"`
	Break       []scenarios.Property `json:"break"`
}

type scenarioFaultJSON struct {
	AtMs       int64  `json:"at_ms"`
	Action     string `json:"action"`
	Target     string `json:"target,omitempty"`
	DurationMs int64  `json:"duration_ms,omitempty"`
}

func printScenariosJSON(stdout, stderr io.Writer, list []*scenarios.Scenario) int {
	out := make([]scenarioJSON, 0, len(list))
	for _, s := range list {
		entry := scenarioJSON{
			Name: s.Name, Description: strings.Join(strings.Fields(s.Description), " "), File: s.File,
			Nodes: s.Topology.Nodes, Policy: string(s.Topology.Policy), Delivery: string(s.Topology.Delivery),
			Clients: s.Workload.Clients, Rooms: s.Workload.Rooms, DurationMs: s.Workload.Duration.Milliseconds(),
			Faults: []scenarioFaultJSON{}, Hold: append([]scenarios.Property{}, s.Expect.Hold...), Break: append([]scenarios.Property{}, s.Expect.Break...),
		}
		for _, fault := range s.Faults {
			entry.Faults = append(entry.Faults, scenarioFaultJSON{AtMs: fault.At.Milliseconds(), Action: string(fault.Action), Target: fault.Target, DurationMs: fault.Duration.Milliseconds()})
		}
		out = append(out, entry)
	}
	encoder := json.NewEncoder(stdout)
	encoder.SetIndent("", "  ")
	if err := encoder.Encode(out); err != nil {
		fmt.Fprintf(stderr, "chatlab scenarios: %s\n", err)
		return 1
	}
	return 0
}
