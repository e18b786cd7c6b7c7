package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The report links to porcupine's page at the first error when the
// linearizability check failed, at the first fault otherwise, and the
// copied page carries the script that honours the fragment.
func TestPorcupineLinkOpensWhereItMatters(t *testing.T) {
	source := filepath.Join(t.TempDir(), "porcupine.html")
	if err := os.WriteFile(source, []byte("<html><body><svg></svg></body></html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	failed := sample()
	failed.Porcupine = source
	failed.Checks = append(failed.Checks, Check{Name: "linearizable", Expect: "hold", Violations: 1})
	page := writePage(t, failed)
	if !strings.Contains(page, `href="linearizability.html#first-error"`) || !strings.Contains(page, "opened at the first error") {
		t.Error("a failed linearizability check does not link to the first error")
	}
	quiet := sample()
	quiet.Porcupine, quiet.FaultWindows = source, nil
	if page := writePage(t, quiet); !strings.Contains(page, `href="linearizability.html"`) || strings.Contains(page, "opened at") {
		t.Error("a run without faults or errors does not link to the page's start")
	}

	runDir, err := Write(t.TempDir(), sample(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(runDir, PorcupineFile)); !os.IsNotExist(err) {
		t.Fatalf("a report without porcupine's page has one: %v", err)
	}
	withPage := sample()
	withPage.Porcupine = source
	if runDir, err = Write(t.TempDir(), withPage, nil); err != nil {
		t.Fatal(err)
	}
	copied, err := os.ReadFile(filepath.Join(runDir, PorcupineFile))
	if err != nil {
		t.Fatal(err)
	}
	body := string(copied)
	if !strings.HasSuffix(body, "</script>\n</body></html>") || !strings.Contains(body, "'first-error'") || !strings.Contains(body, "'first-fault'") {
		t.Errorf("the copied page does not end with the jump script before </body>: %q", body)
	}
}
