package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writePage(t *testing.T, r *Report) string {
	t.Helper()
	runDir, err := Write(t.TempDir(), r, nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(runDir, PageFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// A run that passes because a property broke as its scenario expected
// says what broke on its banner, not a plain PASS.
func TestExpectedBreakIsNamedOnTheBanner(t *testing.T) {
	r := sample()
	r.Scenario, r.Verdict, r.Delivery = "pubsub-loses", Pass, "pubsub"
	r.Checks = []Check{
		{Name: "no-loss", OK: true, Expect: "break", Violations: 37, Detail: "37 lost"},
		{Name: "no-duplicates", OK: true, Expect: "observe", Violations: 2},
		{Name: "liveness", OK: true, Expect: "hold"},
	}
	if got, want := r.Broke(), "no-loss broke, as expected: 37 lost"; got != want {
		t.Fatalf("Broke() = %q, want %q", got, want)
	}
	page := writePage(t, r)
	for _, want := range []string{`<div class="verdict pass broke">`, `<div class="word">BROKE, AS EXPECTED</div>`,
		`<div class="broke">no-loss broke, as expected: 37 lost</div>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, `<div class="word">PASS</div>`) {
		t.Error("the page shows a plain PASS for a run that lost messages on purpose")
	}

	// A clean pass stays a plain PASS.
	clean := sample()
	clean.Verdict, clean.Checks = Pass, []Check{{Name: "no-loss", OK: true, Expect: "hold"}}
	if clean.Broke() != "" || !strings.Contains(writePage(t, clean), `<div class="word">PASS</div>`) {
		t.Errorf("a clean pass: Broke() = %q, or no plain PASS", clean.Broke())
	}
}

// A mutated run's page says first that its nodes were broken on purpose.
func TestMutationIsSaidUpFront(t *testing.T) {
	r := sample()
	r.Mutation = "drop"
	page := writePage(t, r)
	banner := strings.Index(page, "Broken on purpose.")
	if banner < 0 || !strings.Contains(page, "<code>--mutation drop</code>") {
		t.Fatal("the page does not say the nodes were broken on purpose")
	}
	if verdict := strings.Index(page, `<div class="verdict`); banner > verdict {
		t.Error("the mutation is said after the verdict, not up front")
	}
	if strings.Contains(writePage(t, sample()), "Broken on purpose.") {
		t.Error("a run without a mutation says it was broken on purpose")
	}
}
