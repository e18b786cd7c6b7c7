package chaos

import (
	"strings"
	"testing"

	"chatlab/chaos/check"
)

// A runtime sample is read from the standard collectors' metrics among
// the others a member exports.
func TestParseRuntime(t *testing.T) {
	exposition := `# HELP chatlab_connections Open client connections.
# TYPE chatlab_connections gauge
chatlab_connections{node="n1"} 42
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 57
# HELP go_memstats_heap_inuse_bytes Number of heap bytes that are in use.
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 4.931584e+06
# HELP process_open_fds Number of open file descriptors.
# TYPE process_open_fds gauge
process_open_fds 61
# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1.79616143551e+09
`
	got, err := parseRuntime(strings.NewReader(exposition), "n1")
	if err != nil {
		t.Fatal(err)
	}
	want := check.RuntimeSample{Member: "n1", StartedMs: 1796161435510, Goroutines: 57, HeapBytes: 4931584, OpenFDs: 61}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// Without the process collector (not Linux, or not registered) there
	// is no sample rather than a zero that would read as a return to
	// baseline.
	_, err = parseRuntime(strings.NewReader(strings.Split(exposition, "# HELP process_open_fds")[0]), "n1")
	if err == nil || !strings.Contains(err.Error(), "process_open_fds") {
		t.Fatalf("no process_open_fds: err %v", err)
	}
}
