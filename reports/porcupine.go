package reports

import (
	"os"
	"strings"
)

// Fragments of the porcupine page's address that open it where it matters:
// a run's history drawn end to end is hundreds of screens wide.
const (
	PorcupineFirstError = "first-error" // porcupine's own "jump to first error"
	PorcupineFirstFault = "first-fault" // the first fault window's annotation
)

// porcupineJump is added to porcupine's page: with #first-error it does
// what the page's "jump to first error" link does, with #first-fault it
// scrolls to the first fault annotation, so that the report can link
// straight to either.
const porcupineJump = `<script>
// chatlab: open at the first error or the first fault, as the address asks.
window.addEventListener('load', function () {
  var wanted = window.location.hash.slice(1);
  if (wanted === '` + PorcupineFirstError + `') {
    var jump = document.getElementById('jump-link');
    if (jump) { jump.dispatchEvent(new MouseEvent('click')); }
  } else if (wanted === '` + PorcupineFirstFault + `') {
    // The fault's start near the left edge and its bar, below the
    // clients' rows, at the bottom of the view: what the clients did as
    // the fault began shows above it.
    var fault = document.querySelector('.client-annotation-rect');
    if (fault) {
      var box = fault.getBoundingClientRect();
      window.scrollTo(window.scrollX + box.left - 200, window.scrollY + box.bottom - window.innerHeight + 40);
    }
  }
});
</script>
`

// copyPorcupine copies porcupine's page with porcupineJump added before
// the end of its body.
func copyPorcupine(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	page := string(data)
	end := strings.LastIndex(page, "</body>")
	if end < 0 {
		end = len(page)
	}
	return os.WriteFile(to, []byte(page[:end]+porcupineJump+page[end:]), 0o644)
}

// porcupineLink is where the report's link to porcupine's page points: at
// the first error when the linearizability check failed, at the first
// fault when there was one, else at the page's start.
func porcupineLink(r *Report) string {
	for _, check := range r.Checks {
		if check.Name == "linearizable" && check.Violations > 0 {
			return r.Porcupine + "#" + PorcupineFirstError
		}
	}
	if len(r.FaultWindows) > 0 {
		return r.Porcupine + "#" + PorcupineFirstFault
	}
	return r.Porcupine
}
