package chaos

import (
	"sort"
	"time"

	"chatlab/scenarios"
)

// Step is one point of a fault timeline: a fault starting, or the end of
// its window (End) undoing it.
type Step struct {
	At    time.Duration
	Fault scenarios.Fault
	End   bool
}

// Label is the step as the report and the dashboard show it.
func (s Step) Label() (action, target string) {
	target = s.Fault.Target
	if !s.End {
		return string(s.Fault.Action), target
	}
	switch s.Fault.Action {
	case scenarios.Kill, scenarios.Restart, scenarios.Drain, scenarios.RedisRestart, scenarios.BalancerRestart:
		return "start", target
	case scenarios.Pause:
		return "resume", target
	case scenarios.Partition:
		return "heal", target
	case scenarios.Flood, scenarios.JoinFlood, scenarios.ConnFlood, scenarios.UpgradeAborts, scenarios.Garbage:
		return string(s.Fault.Action) + "-end", target
	case scenarios.SlowConsumer:
		return "reading-resumed", target
	case scenarios.Away:
		return "back", target
	default:
		return string(s.Fault.Action) + "-end", target
	}
}

// Timeline expands a scenario's faults into steps in time order: each
// fault with a window contributes its start and its end. Steps at the
// same time keep the file's order, ends before starts.
func Timeline(faults []scenarios.Fault) []Step {
	steps := make([]Step, 0, 2*len(faults))
	for _, f := range faults {
		steps = append(steps, Step{At: f.At, Fault: f})
		if f.Duration > 0 && f.Action != scenarios.Heal && f.Action != scenarios.Resume {
			steps = append(steps, Step{At: f.End(), Fault: f, End: true})
		}
	}
	sort.SliceStable(steps, func(i, j int) bool {
		if steps[i].At != steps[j].At {
			return steps[i].At < steps[j].At
		}
		return steps[i].End && !steps[j].End
	})
	return steps
}

// Window is a span of the run under a fault, for the report's shading.
type Window struct {
	FromMs int64  `json:"from_ms"`
	ToMs   int64  `json:"to_ms"`
	Label  string `json:"label"`
}

// Windows are the fault windows of a timeline. A fault without a window
// lasts to end, but for a restart or a pub/sub kill, which are over at
// once, and a heal or a resume, which end other faults.
func Windows(faults []scenarios.Fault, end time.Duration) []Window {
	windows := make([]Window, 0, len(faults))
	for _, f := range faults {
		to := f.End()
		if f.Duration == 0 {
			switch f.Action {
			case scenarios.Heal, scenarios.Resume:
				continue
			case scenarios.Restart, scenarios.RedisRestart, scenarios.BalancerRestart, scenarios.PubSubKill:
			default:
				to = end
			}
		}
		windows = append(windows, Window{FromMs: f.At.Milliseconds(), ToMs: to.Milliseconds(), Label: string(f.Action) + " " + f.Target})
	}
	return windows
}
