package scenarios

import (
	"fmt"
	"strings"
	"time"
)

// WithDuration is the scenario with its workload run for d instead of its
// own duration (a soak's length is the caller's choice): the same
// topology, traffic and expectations, checked as a file is. A shorter run
// keeps the faults that begin within it and leaves out those that begin at
// d or later (a soak's later rounds of faults); a fault that begins within
// it must also end within it.
func (s *Scenario) WithDuration(d time.Duration) (*Scenario, error) {
	changed := *s
	changed.Faults = nil
	last := -1 // the fault that begins within d and ends last, past d
	for i, f := range s.Faults {
		if f.At >= d {
			continue
		}
		changed.Faults = append(changed.Faults, f)
		if f.End() > d && (last < 0 || f.End() >= s.Faults[last].End()) {
			last = i
		}
	}
	if last >= 0 {
		f := s.Faults[last]
		return nil, fmt.Errorf("scenario %s for %s: its fault %d (%s) ends at %s, after the workload; give at least %s",
			s.Name, d, last+1, strings.TrimSpace(string(f.Action)+" "+f.Target+" at "+f.At.String()), f.End(), f.End())
	}
	changed.Workload.Duration = d
	out, err := Parse(s.File, changed.Encode(""))
	if err != nil {
		return nil, fmt.Errorf("scenario %s for %s: %w", s.Name, d, err)
	}
	out.File = s.File
	return out, nil
}
