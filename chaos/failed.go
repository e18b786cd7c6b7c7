package chaos

import "chatlab/chaos/check"

// FailedChecks names the checks whose expectation the run did not meet, in
// the order the verdict lists them: properties that had to hold, those that
// had to break, then the latency bound. Empty for a run that passed.
func (r *Result) FailedChecks() []string {
	byName := map[string]check.Check{}
	for _, c := range r.Checks {
		byName[c.Name] = c
	}
	var failed []string
	for _, property := range r.Scenario.Expect.Hold {
		if name := propertyChecks[property]; !byName[name].OK {
			failed = append(failed, name)
		}
	}
	for _, property := range r.Scenario.Expect.Break {
		if name := propertyChecks[property]; byName[name].OK {
			failed = append(failed, name)
		}
	}
	if c := byName[check.CheckLatency]; r.Scenario.Expect.LatencyP99MaxMs > 0 && !c.OK {
		failed = append(failed, check.CheckLatency)
	}
	return failed
}
