package check

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// forbiddenDependencyPrefixes are what checking a history must not pull
// in: the container clients, the simulator and the lab runner. A history
// is checked wherever it was written, by a binary that needs none of them.
var forbiddenDependencyPrefixes = []string{"github.com/docker/", "github.com/moby/", "github.com/testcontainers/",
	"chatlab/sim", "chatlab/chaos/local", "chatlab/chaos/docker"}

func TestDependsOnlyOnTheClientAndPorcupine(t *testing.T) {
	command := exec.Command("go", "list", "-deps", ".")
	var stderr bytes.Buffer
	command.Stderr = &stderr
	output, err := command.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, stderr.String())
	}
	dependencies := strings.Fields(string(output))
	if len(dependencies) < 2 || dependencies[len(dependencies)-1] != "chatlab/chaos/check" {
		t.Fatalf("go list -deps listed %v, not this package's dependencies", dependencies)
	}
	for _, dependency := range dependencies {
		if dependency == "chatlab/chaos" || strings.HasPrefix(dependency, "chatlab/chaos/") && dependency != "chatlab/chaos/check" {
			t.Errorf("chaos/check depends on %s", dependency)
		}
		for _, prefix := range forbiddenDependencyPrefixes {
			if strings.HasPrefix(dependency, prefix) {
				t.Errorf("chaos/check depends on %s", dependency)
			}
		}
		first, _, _ := strings.Cut(dependency, "/")
		if strings.Contains(first, ".") && dependency != "github.com/anishathalye/porcupine" {
			t.Errorf("chaos/check depends on %s: porcupine is its only library", dependency)
		}
		if strings.HasPrefix(dependency, "chatlab/") && dependency != "chatlab/chaos/check" &&
			!strings.HasPrefix(dependency, "chatlab/system/client") && !strings.HasPrefix(dependency, "chatlab/system/protocol") {
			t.Errorf("chaos/check depends on %s: only system/client and system/protocol are allowed", dependency)
		}
	}
}
