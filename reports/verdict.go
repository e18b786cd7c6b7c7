package reports

import (
	"fmt"
	"strings"
)

// breakNouns name what a violation of a property is, for a sentence like
// "no-loss broke, as expected: 47 lost".
var breakNouns = map[string]string{
	"no-loss":       "lost",
	"no-duplicates": "duplicated",
	"order":         "out of order",
}

// BreakPhrase says that a property a scenario expects to break was seen to
// break, and how often: "no-loss broke, as expected: 47 lost".
func BreakPhrase(name string, violations int) string {
	noun, ok := breakNouns[name]
	if !ok {
		noun = "violations"
	}
	return fmt.Sprintf("%s broke, as expected: %d %s", name, violations, noun)
}

// Broke is what the run was expected to break and did, one phrase per
// property ("no-loss broke, as expected: 47 lost"), joined with "; ";
// empty when the scenario expects nothing to break or nothing did. A pass
// that lost messages on purpose must not read like a clean pass.
func (r *Report) Broke() string {
	var phrases []string
	for _, check := range r.Checks {
		if check.Expect == "break" && check.OK && check.Violations > 0 {
			phrases = append(phrases, BreakPhrase(check.Name, check.Violations))
		}
	}
	return strings.Join(phrases, "; ")
}
