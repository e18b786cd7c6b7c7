package scenarios

import (
	"embed"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
)

// files are the scenario files shipped in the binary.
//
//go:embed *.yaml
var files embed.FS

// embedded parses the set afresh on each call, so that a caller may change
// the scenario it got (say, its delivery mode) without touching anyone
// else's; the files are few and small.
func embedded() ([]*Scenario, error) {
	entries, err := files.ReadDir(".")
	if err != nil {
		return nil, err
	}
	all := make([]*Scenario, 0, len(entries))
	for _, entry := range entries {
		data, err := files.ReadFile(entry.Name())
		if err != nil {
			return nil, err
		}
		s, err := Parse(path.Join("scenarios", entry.Name()), data)
		if err != nil {
			return nil, err
		}
		if want := strings.TrimSuffix(entry.Name(), ".yaml"); s.Name != want {
			return nil, &ParseError{File: s.File, Line: 1, Message: fmt.Sprintf("name '%s' differs from the file's name '%s'", s.Name, want)}
		}
		all = append(all, s)
	}
	slices.SortFunc(all, func(a, b *Scenario) int { return strings.Compare(a.Name, b.Name) })
	return all, nil
}

// All returns every embedded scenario, sorted by name. It panics if one
// does not parse: the files are part of the binary, so that is a defect of
// the build, caught by the tests.
func All() []*Scenario {
	all, err := embedded()
	if err != nil {
		panic("scenarios: embedded file: " + err.Error())
	}
	return all
}

// Names lists the embedded scenarios' names, sorted.
func Names() []string {
	var names []string
	for _, s := range All() {
		names = append(names, s.Name)
	}
	return names
}

// Load returns the embedded scenario called name.
func Load(name string) (*Scenario, error) {
	for _, s := range All() {
		if s.Name == name {
			return s, nil
		}
	}
	message := fmt.Sprintf("unknown scenario '%s'", name)
	if suggestion := closest(name, Names()); suggestion != "" {
		message += fmt.Sprintf(" (did you mean '%s'?)", suggestion)
	}
	return nil, fmt.Errorf("%s; known scenarios: %s", message, strings.Join(Names(), ", "))
}

// LoadFile parses the scenario file at path.
func LoadFile(path string) (*Scenario, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Size() > fileBytesMax {
		return nil, &ParseError{File: path, Message: fmt.Sprintf("%d bytes; the limit is %d", info.Size(), fileBytesMax)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}
