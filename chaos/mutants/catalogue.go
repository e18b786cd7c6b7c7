// Package mutants measures the lab's mutation score: realistic bugs planted
// one at a time in system/ code, each run through a scenario sweep, to see
// whether some scenario's checks catch it.
//
// A mutant is described by its file, an exact snippet of the original code
// and its replacement, never by line numbers: other edits to the file do
// not move it, and a snippet that no longer matches fails loudly instead of
// planting a bug somewhere else. The mutated file is handed to the compiler
// through `go build -overlay`, so the working tree is never touched.
package mutants

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Sweeps: which target's sweep is the judge of a mutant.
const (
	// SweepSim is for code the simulator runs (node, client, balance,
	// protocol): the sim sweep alone must catch it.
	SweepSim = "sim"
	// SweepLocal is for code only real targets run (server, proxy, broker,
	// socket): the local sweep must catch it. The sim sweep is tried first
	// all the same, since it costs seconds.
	SweepLocal = "local"
)

// Mutant is one planted bug.
type Mutant struct {
	// Name is unique in the catalogue: lowercase, digits and '-'.
	Name string `yaml:"name"`
	// File is the path from the repository's root.
	File string `yaml:"file"`
	// Original must occur exactly once in File.
	Original string `yaml:"original"`
	// Replacement takes its place.
	Replacement string `yaml:"replacement"`
	// Description says what an engineer got wrong, in a line.
	Description string `yaml:"description"`
	// Sweep is SweepSim or SweepLocal.
	Sweep string `yaml:"sweep"`
	// Scenarios are tried first, in this order, before every other
	// scenario: they only make a kill come sooner, never decide it.
	Scenarios []string `yaml:"scenarios,omitempty"`
	// CI marks the small subset CI runs.
	CI bool `yaml:"ci,omitempty"`
	// Note explains a mutant the sweep is known not to kill: why no run
	// reaches the mutated code, or why what it changes cannot be told
	// from the original by anything a client sees. It is printed with
	// the mutant's survival; a killed mutant's note is stale.
	Note string `yaml:"note,omitempty"`
}

// Catalogue is the list of mutants, in file order.
type Catalogue struct {
	Mutants []Mutant `yaml:"mutants"`
}

var namePattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Load reads a catalogue file strictly: unknown keys, a missing field, a
// repeated name or an unknown sweep are errors naming the mutant.
func Load(path string) (*Catalogue, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse is Load for data read from path.
func Parse(path string, data []byte) (*Catalogue, error) {
	decoder := yaml.NewDecoder(bytes.NewReader(data))
	decoder.KnownFields(true)
	var c Catalogue
	if err := decoder.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(c.Mutants) == 0 {
		return nil, fmt.Errorf("%s: no mutants", path)
	}
	seen := map[string]bool{}
	for i, m := range c.Mutants {
		where := fmt.Sprintf("%s: mutant %d (%q)", path, i+1, m.Name)
		switch {
		case !namePattern.MatchString(m.Name):
			return nil, fmt.Errorf("%s: name must be lowercase words joined by '-'", where)
		case seen[m.Name]:
			return nil, fmt.Errorf("%s: name used twice", where)
		case m.File == "" || filepath.IsAbs(m.File) || strings.Contains(m.File, ".."):
			return nil, fmt.Errorf("%s: file must be a path inside the repository", where)
		case m.Original == "":
			return nil, fmt.Errorf("%s: original is empty", where)
		case m.Original == m.Replacement:
			return nil, fmt.Errorf("%s: replacement equals original", where)
		case m.Description == "":
			return nil, fmt.Errorf("%s: description is empty", where)
		case m.Sweep != SweepSim && m.Sweep != SweepLocal:
			return nil, fmt.Errorf("%s: sweep %q: want %s or %s", where, m.Sweep, SweepSim, SweepLocal)
		}
		seen[m.Name] = true
	}
	return &c, nil
}

// ErrSnippet is wrapped by Apply when a mutant's original snippet does not
// occur exactly once: the code moved under the catalogue.
var ErrSnippet = errors.New("original snippet")

// Apply writes the mutated file under dir and returns the overlay file
// (for go build -overlay) that puts it in place of the original in root.
func (m Mutant) Apply(root, dir string) (overlay string, err error) {
	source := filepath.Join(root, filepath.FromSlash(m.File))
	original, err := os.ReadFile(source)
	if err != nil {
		return "", fmt.Errorf("mutant %s: %w", m.Name, err)
	}
	mutated, err := m.mutate(string(original))
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	target := filepath.Join(dir, filepath.Base(m.File))
	if err := os.WriteFile(target, []byte(mutated), 0o644); err != nil {
		return "", err
	}
	absSource, err := filepath.Abs(source)
	if err != nil {
		return "", err
	}
	absTarget, err := filepath.Abs(target)
	if err != nil {
		return "", err
	}
	data, err := json.Marshal(map[string]map[string]string{"Replace": {absSource: absTarget}})
	if err != nil {
		return "", err
	}
	overlay = filepath.Join(dir, "overlay.json")
	return overlay, os.WriteFile(overlay, data, 0o644)
}

// mutate replaces the original snippet, which must occur exactly once.
func (m Mutant) mutate(text string) (string, error) {
	switch count := strings.Count(text, m.Original); count {
	case 1:
		return strings.Replace(text, m.Original, m.Replacement, 1), nil
	case 0:
		return "", fmt.Errorf("mutant %s: %w not found in %s (the code changed: update the catalogue)", m.Name, ErrSnippet, m.File)
	default:
		return "", fmt.Errorf("mutant %s: %w occurs %d times in %s (make it longer so it names one place)", m.Name, ErrSnippet, count, m.File)
	}
}
