package scenarios

import (
	"fmt"
	"strings"
	"time"
)

// WithDuration is the scenario with its workload run for d instead of its
// own duration (a soak's length is the caller's choice): the same
// topology, traffic, faults and expectations, checked as a file is. Every
// fault must still lie within d.
func (s *Scenario) WithDuration(d time.Duration) (*Scenario, error) {
	last := -1 // the fault that ends last, past d
	for i, f := range s.Faults {
		if f.End() > d && (last < 0 || f.End() >= s.Faults[last].End()) {
			last = i
		}
	}
	if last >= 0 {
		f := s.Faults[last]
		return nil, fmt.Errorf("scenario %s for %s: its fault %d (%s) ends at %s, after the workload; give at least %s",
			s.Name, d, last+1, strings.TrimSpace(string(f.Action)+" "+f.Target+" at "+f.At.String()), f.End(), f.End())
	}
	changed := *s
	changed.Workload.Duration = d
	out, err := Parse(s.File, changed.Encode(""))
	if err != nil {
		return nil, fmt.Errorf("scenario %s for %s: %w", s.Name, d, err)
	}
	out.File = s.File
	return out, nil
}
