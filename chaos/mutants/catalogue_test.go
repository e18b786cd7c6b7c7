package mutants

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	cataloguePath = "testdata/catalogue.yaml"
	holdoutPath   = "testdata/holdout.yaml"
)

// Every mutant of the catalogue still plants its bug: its snippet occurs
// exactly once in today's code. A failure here means the code moved under
// a mutant: update its snippet.
func TestCatalogueAppliesToTheTree(t *testing.T) {
	c, err := Load(cataloguePath)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Mutants) < 25 {
		t.Errorf("the catalogue has %d mutants; the score needs at least 25", len(c.Mutants))
	}
	sweeps := map[string]int{}
	for _, m := range c.Mutants {
		sweeps[m.Sweep]++
		overlay, err := m.Apply("../..", t.TempDir())
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if _, err := os.Stat(overlay); err != nil {
			t.Errorf("mutant %s: no overlay: %v", m.Name, err)
		}
	}
	if sweeps[SweepSim] == 0 || sweeps[SweepLocal] == 0 {
		t.Errorf("the catalogue covers sweeps %v; it needs both sim and local", sweeps)
	}
}

// The holdout mutants still plant their bugs too, and none is a catalogue
// mutant again (one may change the same line another way).
func TestHoldoutAppliesToTheTree(t *testing.T) {
	holdout, err := Load(holdoutPath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(cataloguePath)
	if err != nil {
		t.Fatal(err)
	}
	planted := map[string]string{}
	for _, m := range c.Mutants {
		planted[m.File+"\x00"+m.Original+"\x00"+m.Replacement] = m.Name
	}
	for _, m := range holdout.Mutants {
		if _, err := m.Apply("../..", t.TempDir()); err != nil {
			t.Errorf("%v", err)
		}
		if name, ok := planted[m.File+"\x00"+m.Original+"\x00"+m.Replacement]; ok {
			t.Errorf("holdout mutant %s is catalogue mutant %s again", m.Name, name)
		}
	}
}

func TestApplyWritesTheMutatedFile(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "a.go"), []byte("x := 1\ny := 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := Mutant{Name: "m", File: "a.go", Original: "y := 2", Replacement: "y := 3", Description: "d", Sweep: SweepSim}
	overlay, err := m.Apply(root, filepath.Join(root, "work"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(overlay)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"Replace"`) || !strings.Contains(string(data), "a.go") {
		t.Errorf("overlay %s", data)
	}
	mutated, err := os.ReadFile(filepath.Join(root, "work", "a.go"))
	if err != nil {
		t.Fatal(err)
	}
	if string(mutated) != "x := 1\ny := 3\n" {
		t.Errorf("mutated file %q", mutated)
	}
	original, _ := os.ReadFile(filepath.Join(root, "a.go"))
	if string(original) != "x := 1\ny := 2\n" {
		t.Errorf("the original was touched: %q", original)
	}
}

func TestApplyRefusesASnippetThatDoesNotNameOnePlace(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "a.go"), []byte("y := 2\ny := 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for snippet, want := range map[string]string{"z := 9": "not found in a.go", "y := 2": "occurs 2 times"} {
		m := Mutant{Name: "m", File: "a.go", Original: snippet, Replacement: "q", Description: "d", Sweep: SweepSim}
		_, err := m.Apply(root, filepath.Join(root, "work"))
		if !errors.Is(err, ErrSnippet) || !strings.Contains(err.Error(), want) {
			t.Errorf("snippet %q: err %v; want one saying %q", snippet, err, want)
		}
	}
}

func TestParseRefusesBadEntries(t *testing.T) {
	good := "  - name: a-b\n    file: x.go\n    original: o\n    replacement: r\n    description: d\n    sweep: sim\n"
	for text, want := range map[string]string{
		"mutants:\n" + good + good: "name used twice",
		"mutants:\n" + strings.Replace(good, "sweep: sim", "sweep: docker", 1):      "sweep \"docker\"",
		"mutants:\n" + strings.Replace(good, "file: x.go", "file: /etc/x.go", 1):    "inside the repository",
		"mutants:\n" + strings.Replace(good, "replacement: r", "replacement: o", 1): "equals original",
		"mutants:\n" + strings.Replace(good, "name: a-b", "name: A b", 1):           "lowercase",
		"mutants:\n" + good + "    colour: red\n":                                   "colour",
		"mutants: []\n": "no mutants",
	} {
		if _, err := Parse("c.yaml", []byte(text)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v; want one saying %q", text, err, want)
		}
	}
	if _, err := Parse("c.yaml", []byte("mutants:\n"+good)); err != nil {
		t.Errorf("a good entry: %v", err)
	}
}

func TestScoreCountsEachSweepAndSkipsBroken(t *testing.T) {
	s := ScoreOf([]Outcome{
		{Sweep: SweepSim, Status: Killed, Tests: "missed"},
		{Sweep: SweepSim, Status: Survived, Tests: "caught"},
		{Sweep: SweepLocal, Status: Killed},
		{Sweep: SweepLocal, Status: Broken},
	})
	if s.Sim != (Tally{1, 2}) || s.Local != (Tally{1, 1}) || s.Broken != 1 || s.Tests != (Tally{1, 2}) {
		t.Errorf("score %+v", s)
	}
}

// A known survivor's note reaches its outcome line, so that the score's
// reader sees why it survived; a killed mutant's line does not carry it.
func TestSurvivorLineCarriesItsNote(t *testing.T) {
	c, err := Parse("inline", []byte(`mutants:
  - name: unreachable-one
    file: system/node/node.go
    original: "a"
    replacement: "b"
    description: something no run reaches
    sweep: sim
    note: only a frame the node never writes reaches it
`))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Mutants[0]
	survived := Outcome{Name: m.Name, Description: m.Description, Note: m.Note, Sweep: m.Sweep, Status: Survived}
	if line := survived.Line(); !strings.Contains(line, "known survivor: only a frame the node never writes reaches it") {
		t.Errorf("survivor line %q lacks the note", line)
	}
	killed := survived
	killed.Status, killed.Scenario, killed.Target, killed.Seed = Killed, "node-restart", "sim", 1
	if line := killed.Line(); strings.Contains(line, "known survivor") {
		t.Errorf("killed line %q carries the note", line)
	}
}
