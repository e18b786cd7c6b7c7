package check

import (
	"fmt"
	"sort"
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
// the log's replay or by the state the pick itself reports.
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
	picks, changes, starts := 0, 0, 0
	perBackend := map[string]int{}
	for _, d := range facts.Decisions {
		switch d.Kind {
		case "start":
			starts++
			clear(views)
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
			case !d.Up || d.Draining:
				v.add(Violation{Kind: "pick-ineligible", Client: d.User, AtMs: d.AtMs,
					Message: fmt.Sprintf("connection %d of %s went to %s, which the balancer itself held up=%v draining=%v",
						d.Conn, d.User, d.Backend, d.Up, d.Draining)})
			}
		}
	}
	detail := fmt.Sprintf("%d picks (%s) over %d balancer process(es) and %d health changes", picks, spreadText(perBackend), starts, changes)
	if v.check.Violations == 0 {
		detail += ", each to a backend up and in rotation"
	}
	return v.done(detail)
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
