package chaos

import (
	"testing"
	"time"

	"chatlab/scenarios"
)

func TestTimelineExpandsWindowsAndOrdersEndsFirst(t *testing.T) {
	faults := []scenarios.Fault{
		{At: 2 * time.Second, Action: scenarios.Partition, Target: "n1-redis", Link: [2]string{"n1", "redis"}, Duration: 3 * time.Second},
		{At: 5 * time.Second, Action: scenarios.Restart, Target: "n2"},
		{At: 6 * time.Second, Action: scenarios.Kill, Target: "n3"},
	}
	steps := Timeline(faults)
	want := []struct {
		at  time.Duration
		end bool
		who string
	}{{2 * time.Second, false, "n1-redis"}, {5 * time.Second, true, "n1-redis"}, {5 * time.Second, false, "n2"}, {6 * time.Second, false, "n3"}}
	if len(steps) != len(want) {
		t.Fatalf("steps %+v", steps)
	}
	for i, w := range want {
		if steps[i].At != w.at || steps[i].End != w.end || steps[i].Fault.Target != w.who {
			t.Fatalf("step %d = %+v, want %+v", i, steps[i], w)
		}
	}
	if action, _ := steps[1].Label(); action != "heal" {
		t.Fatalf("the partition's end is labelled %q, want heal", action)
	}
	windows := Windows(faults, 20*time.Second)
	if len(windows) != 3 || windows[0].ToMs != 5000 || windows[1].FromMs != 5000 || windows[1].ToMs != 5000 || windows[2].ToMs != 20000 {
		t.Fatalf("windows %+v: want the partition to 5 s, the restart at an instant, the kill to the end", windows)
	}
}
