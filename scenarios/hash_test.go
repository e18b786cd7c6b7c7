package scenarios

import (
	"strings"
	"testing"
)

func TestHashFollowsContentNotFormOrPlace(t *testing.T) {
	embedded, err := Load("node-restart")
	if err != nil {
		t.Fatal(err)
	}
	data, err := files.ReadFile("node-restart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	commented, err := Parse("elsewhere/copy.yaml", append([]byte("# a copy, with a comment\n"), data...))
	if err != nil {
		t.Fatal(err)
	}
	if commented.Hash() != embedded.Hash() {
		t.Errorf("a commented copy elsewhere hashes %s, the original %s", commented.Hash(), embedded.Hash())
	}
	// A change to what happens changes the hash.
	changed, err := Parse("scenarios/node-restart.yaml", []byte(strings.Replace(string(data), "clients: 60", "clients: 61", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if changed.Hash() == embedded.Hash() {
		t.Errorf("61 clients hash like 60: %s", changed.Hash())
	}
}
