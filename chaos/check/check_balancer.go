package check

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// backendView is one backend's state as the balancer's log says the
// balancer held it.
type backendView struct {
	up       bool
	draining bool
	// sinceMs and why say when and why the state last changed.
	sinceMs int64
	why     string
}

// checkBalancer replays the balancer's decision log: every process starts
// with every backend up and none draining; health changes, drains and
// undrains move the backends' states; and no pick may send a new
// connection to a backend the balancer had marked down or draining, by
// the log's replay or by the state the pick itself reports. Every other
// pick must be the one the process's policy (its start names it) had to
// make given the backends' loads and states the pick records, from the
// cursor its previous pick left (round-robin and least-conn resume after
// the backend they last picked; a process starts at the first backend).
func checkBalancer(_ History, facts Facts) Check {
	v := newVerdict(CheckBalancer)
	if len(facts.Decisions) == 0 {
		return v.done("no balancer decision recorded (no balancer)")
	}
	views := map[string]*backendView{}
	view := func(name string) *backendView {
		if views[name] == nil {
			views[name] = &backendView{up: true, why: "start"}
		}
		return views[name]
	}
	picks, changes, starts, judged := 0, 0, 0, 0
	perBackend := map[string]int{}
	var config BalancerDecision // the process's start
	// cursor is where the process's next round-robin or least-conn pick
	// must start, as its previous pick left it.
	cursor := 0
	for _, d := range facts.Decisions {
		switch d.Kind {
		case "start":
			starts++
			clear(views)
			config, cursor = d, 0
		case "down", "up":
			changes++
			b := view(d.Backend)
			b.up, b.sinceMs, b.why = d.Kind == "up", d.AtMs, d.Kind+" ("+d.Reason+")"
		case "drain", "undrain":
			b := view(d.Backend)
			b.draining, b.sinceMs, b.why = d.Kind == "drain", d.AtMs, d.Kind
		case "pick":
			picks++
			perBackend[d.Backend]++
			b := view(d.Backend)
			switch {
			case !b.up || b.draining:
				state := "down"
				if b.draining {
					state = "draining"
				}
				v.add(Violation{Kind: "pick-ineligible", Client: d.User, AtMs: d.AtMs,
					Message: fmt.Sprintf("connection %d of %s went to %s, which the balancer had marked %s at %.3fs (%s)",
						d.Conn, d.User, d.Backend, state, float64(b.sinceMs)/1000, b.why)})
				cursor = -1
			case !d.Up || d.Draining:
				v.add(Violation{Kind: "pick-ineligible", Client: d.User, AtMs: d.AtMs,
					Message: fmt.Sprintf("connection %d of %s went to %s, which the balancer itself held up=%v draining=%v",
						d.Conn, d.User, d.Backend, d.Up, d.Draining)})
				cursor = -1
			case config.Policy != "" && len(d.Backends) > 0:
				judged++
				why := policyViolation(config, d)
				if why != "" {
					v.add(Violation{Kind: "pick-not-policy", Client: d.User, AtMs: d.AtMs,
						Message: fmt.Sprintf("connection %d of %s went to %s, but %s (%s)",
							d.Conn, d.User, d.Backend, why, statesText(d.Backends))})
				}
				if config.Policy != "round-robin" && config.Policy != "least-conn" {
					break
				}
				count := len(d.Backends)
				if at := ((d.Cursor % count) + count) % count; cursor >= 0 && at != cursor%count {
					v.add(Violation{Kind: "pick-cursor", Client: d.User, AtMs: d.AtMs,
						Message: fmt.Sprintf("connection %d of %s was picked from %s, but %s's previous pick left the cursor at %s",
							d.Conn, d.User, d.Backends[at].Name, config.Policy, d.Backends[cursor%count].Name)})
				}
				// After a pick against the policy the cursor is not judged
				// again until the next pick that keeps to it.
				cursor = -1
				if why == "" {
					cursor = (pickedIndex(d) + 1) % count
				}
			default:
				cursor = -1 // a pick without its backends' states: the cursor is not known
			}
		}
	}
	detail := fmt.Sprintf("%d picks (%s) over %d balancer process(es) and %d health changes", picks, spreadText(perBackend), starts, changes)
	if v.check.Violations == 0 {
		detail += ", each to a backend up and in rotation"
		if judged > 0 {
			detail += fmt.Sprintf("; %d the policy's own choice given the loads", judged)
		}
	}
	return v.done(detail)
}

// pickedIndex is the place of the picked backend among the pick's
// recorded backends (0 when it is missing, which policyViolation reports).
func pickedIndex(d BalancerDecision) int {
	for i, b := range d.Backends {
		if b.Name == d.Backend {
			return i
		}
	}
	return 0
}

// policyViolation says why a pick is not the backend config's policy had
// to choose given the backends' states the pick records, or "" when it is.
// A backend is eligible when up, in rotation, not the one a retry avoids,
// and under the per-backend cap. round-robin takes the first eligible
// from the cursor; least-conn the eligible one with the least load, the
// first from the cursor among equals; hash-user a backend under its load
// bound, ceil(factor × (eligible load + 1) / eligible backends) (which
// one on the user's ring walk is not in the log).
func policyViolation(config BalancerDecision, d BalancerDecision) string {
	count := len(d.Backends)
	eligible := func(b PickState) bool {
		return b.Up && !b.Draining && b.Name != d.Avoid && (config.ConnectionsMax <= 0 || b.Load < config.ConnectionsMax)
	}
	chosen := -1
	for i, b := range d.Backends {
		if b.Name == d.Backend {
			chosen = i
		}
	}
	if chosen < 0 {
		return "the pick's recorded backends do not include it"
	}
	cursor := ((d.Cursor % count) + count) % count
	switch config.Policy {
	case "round-robin":
		for step := range count {
			if b := d.Backends[(cursor+step)%count]; eligible(b) {
				if b.Name != d.Backend {
					return fmt.Sprintf("round-robin from %s had to pick %s, the first eligible backend", d.Backends[cursor].Name, b.Name)
				}
				return ""
			}
		}
		return "round-robin had no eligible backend"
	case "least-conn":
		best := -1
		for step := range count {
			index := (cursor + step) % count
			if eligible(d.Backends[index]) && (best < 0 || d.Backends[index].Load < d.Backends[best].Load) {
				best = index
			}
		}
		switch {
		case best < 0:
			return "least-conn had no eligible backend"
		case d.Backends[best].Name != d.Backend:
			return fmt.Sprintf("least-conn had to pick %s (load %d), not a backend with load %d",
				d.Backends[best].Name, d.Backends[best].Load, d.Backends[chosen].Load)
		}
	case "hash-user":
		load, eligibles := 0, 0
		for _, b := range d.Backends {
			if eligible(b) {
				load += b.Load
				eligibles++
			}
		}
		if !eligible(d.Backends[chosen]) {
			return "hash-user may pick only an eligible backend"
		}
		bound := int(math.Ceil(config.HashLoadFactor * float64(load+1) / float64(eligibles)))
		if config.HashLoadFactor > 0 && d.Backends[chosen].Load >= bound {
			return fmt.Sprintf("hash-user bounds each backend's load below %d (factor %g)", bound, config.HashLoadFactor)
		}
	}
	return ""
}

// statesText writes a pick's backends like "n1 3, n2 5 down, n3 4".
func statesText(states []PickState) string {
	parts := make([]string, len(states))
	for i, b := range states {
		parts[i] = fmt.Sprintf("%s %d", b.Name, b.Load)
		switch {
		case !b.Up:
			parts[i] += " down"
		case b.Draining:
			parts[i] += " draining"
		}
	}
	return strings.Join(parts, ", ")
}

// spreadText writes picks per backend like "n1 12, n2 10" in name order.
func spreadText(counts map[string]int) string {
	names := make([]string, 0, len(counts))
	for name := range counts {
		names = append(names, name)
	}
	sort.Strings(names)
	text := ""
	for i, name := range names {
		if i > 0 {
			text += ", "
		}
		text += fmt.Sprintf("%s %d", name, counts[name])
	}
	return text
}
