package sim

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/*.golden from this run")

// A small run's whole trace and history, compared line by line with a
// golden file: a change of what the simulator or the code it runs does
// shows as a readable diff (which event moved, which frame changed), not
// only as a new trace hash. After an intended change:
//
//	go test ./sim -run TestGoldenTrace -update
//
// and read the diff of testdata/small-run.golden before committing it.
func TestGoldenTrace(t *testing.T) {
	c := NewCluster(Topology{Nodes: []string{"n1", "n2"}, Link: LinkSpec{Latency: 2 * time.Millisecond, Jitter: time.Millisecond}}, 3)
	c.World().Trace().Keep(true)
	c.AddWorkload(Workload{Clients: 2, Rooms: 1, RoomsPerClient: 1, Warmup: 200 * time.Millisecond, Stop: 1200 * time.Millisecond,
		SendInterval: 400 * time.Millisecond})
	if err := c.At(700*time.Millisecond, Fault{Action: Crash, Target: "n2"}); err != nil {
		t.Fatal(err)
	}
	c.RunUntilQuiet(5 * time.Second)
	var b strings.Builder
	fmt.Fprintf(&b, "# trace: <µs> <seq> <kind> <subject> <detail>; %d events, hash %x\n", c.World().Processed(), c.TraceHash())
	for _, line := range c.World().Trace().Lines() {
		b.WriteString(line + "\n")
	}
	b.WriteString("# history: every client event\n")
	for _, e := range c.History() {
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(data, '\n'))
	}
	path := filepath.Join("testdata", "small-run.golden")
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (write it with -update)", err)
	}
	got, wantLines := strings.Split(b.String(), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(got), len(wantLines)); i++ {
		g, w := "", ""
		if i < len(got) {
			g = got[i]
		}
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if g != w {
			t.Fatalf("%s:%d differs (first difference; rewrite with -update if intended):\n got: %s\nwant: %s", path, i+1, g, w)
		}
	}
}
