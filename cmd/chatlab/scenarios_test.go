package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"chatlab/scenarios"
)

func TestScenariosList(t *testing.T) {
	code, stdout, stderr := runCommand(t, context.Background(), "scenarios")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	all := scenarios.All()
	// Every name starts a line, and its description starts in one column.
	column := -1
	for _, s := range all {
		prefix := "\n" + s.Name + " "
		at := strings.Index("\n"+stdout, prefix)
		if at < 0 {
			t.Fatalf("%s is not listed:\n%s", s.Name, stdout)
		}
		line := strings.SplitN(("\n" + stdout)[at+1:], "\n", 2)[0]
		start := len(line) - len(strings.TrimLeft(line[len(s.Name):], " "))
		if column >= 0 && start != column {
			t.Errorf("%s: description starts at column %d, others at %d", s.Name, start, column)
		}
		column = start
		firstWord := strings.Fields(s.Description)[0]
		if !strings.HasPrefix(line[start:], firstWord) {
			t.Errorf("%s: line %q does not start the description %q", s.Name, line, firstWord)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if len(line) > scenarioListWidth {
			t.Errorf("line longer than %d: %q", scenarioListWidth, line)
		}
	}
}

func TestScenariosJSON(t *testing.T) {
	code, stdout, _ := runCommand(t, context.Background(), "scenarios", "--json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != len(scenarios.All()) {
		t.Fatalf("%d entries, want %d", len(list), len(scenarios.All()))
	}
	for _, key := range []string{"name", "description", "file", "nodes", "delivery", "duration_ms", "faults", "hold", "break"} {
		if _, ok := list[0][key]; !ok {
			t.Errorf("no %q in %v", key, list[0])
		}
	}
}

func TestScenariosCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	data := "name: mine\ndescription: Mine.\nworkload: {clients: 2, rooms: 1, send_rate: 1/s, duration: 5s}\nexpect: {hold: [order]}\n"
	if err := os.WriteFile(good, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(strings.Replace(data, "duration: 5s", "duration: 5", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := runCommand(t, context.Background(), "scenarios", "--check", good)
	if code != 0 || !strings.Contains(stdout, "ok: scenario mine") {
		t.Errorf("good file: exit %d, %q", code, stdout)
	}
	code, _, stderr := runCommand(t, context.Background(), "scenarios", "--check", bad)
	if want := bad + ":3: workload.duration: bad duration '5'"; code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("bad file: exit %d, %q; want 2 and %q", code, stderr, want)
	}
	code, _, stderr = runCommand(t, context.Background(), "scenarios", "--check", filepath.Join(dir, "none.yaml"))
	if code != 2 || !strings.Contains(stderr, "no such file") {
		t.Errorf("missing file: exit %d, %q", code, stderr)
	}
	code, _, stderr = runCommand(t, context.Background(), "scenarios", "--jsn")
	if code != 2 || !strings.Contains(stderr, "flag provided but not defined: -jsn") {
		t.Errorf("bad flag: exit %d, %q", code, stderr)
	}
}
