package check

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func checkNames(checks []Check) string {
	var names []string
	for _, c := range checks {
		names = append(names, c.Name)
	}
	return strings.Join(names, ",")
}

func TestCheckHistoryPassesCleanRun(t *testing.T) {
	checks, stats := CheckHistory(cleanRoom(trio, 10).h, CheckOptions{})
	if got := checkNames(checks); got != "no-loss,no-duplicates,order,resume,linearizable,latency,client-dedupe,acks,resets,welcome,integrity" {
		t.Fatalf("checks %s", got)
	}
	for _, c := range checks {
		expectViolations(t, c, 0, "")
	}
	want := Stats{Sent: 10, Acked: 10, Delivered: 30, LatencyMs: LatencyStats{P50: 3, P99: 4, Max: 4}}
	if stats != want {
		t.Fatalf("stats %+v, want %+v", stats, want)
	}
}

func TestCheckHistoryCountsEveryKindOfFault(t *testing.T) {
	b := cleanRoom(trio, 2).
		message("r", "a-3", 3, "e1", "a", "b"). // c loses seq 3: a gap
		message("r", "b-4", 4, "e1", trio...).
		again("b", "r", 4, "b-4", "e1").                   // b gets seq 4 twice
		send("a", "r", "a-5").sendFailed("a", "r", "a-5"). // applied as seq 5, but nobody got it:
		reset("a", "r", 6, "e1").reset("b", "r", 6, "e1"). // it is gone, and said so to a and b,
		message("r", "c-6", 6, "e1", "a", "b").            // but c missed the reset: 5 and 6 lost
		send("c", "r", "c-7").ack("c", "r", "c-7", 7).
		deliver("a", "r", 7, "c-7", "e1").deliver("b", "r", 7, "c-7", "e1").deliver("c", "r", 7, "c-7", "e1")
	checks, stats := CheckHistory(b.h, CheckOptions{Delivery: DeliveryRecover, LatencyP99MaxMs: 1})
	byName := map[string]Check{}
	for _, c := range checks {
		byName[c.Name] = c
	}
	expectViolations(t, byName[CheckNoLoss], 3, "lost")
	expectViolations(t, byName[CheckNoDuplicates], 1, "duplicate")
	expectViolations(t, byName[CheckOrder], 2, "gap")
	expectViolations(t, byName[CheckResume], 0, "")
	expectViolations(t, byName[CheckLinearizable], 0, "")
	expectViolations(t, byName[CheckLatency], 1, "latency")
	expectViolations(t, byName[CheckClientDedupe], 0, "")
	expectViolations(t, byName[CheckAcks], 2, "acked_not_delivered") // c never got a-3 nor c-6
	expectViolations(t, byName[CheckResets], 2, "unjustified_reset") // no retention bound explains them
	expectViolations(t, byName[CheckWelcome], 0, "")
	want := Stats{Sent: 7, Acked: 6, Delivered: 16, Lost: 3, Duplicated: 1, Excused: 2,
		LatencyMs: LatencyStats{P50: 3, P99: 4, Max: 4}}
	if stats != want {
		t.Fatalf("stats %+v, want %+v", stats, want)
	}
}

func TestCheckHistoryJSONMatchesReport(t *testing.T) {
	checks, stats := CheckHistory(cleanRoom(trio, 3).message("r", "a-4", 4, "e1", "a", "b").h, CheckOptions{})
	encoded, err := json.Marshal(map[string]any{"checks": checks, "stats": stats})
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		Checks []map[string]any `json:"checks"`
		Stats  map[string]any   `json:"stats"`
	}
	if err := json.Unmarshal(encoded, &report); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"name", "ok", "violations", "detail"} {
		if _, ok := report.Checks[0][key]; !ok {
			t.Fatalf("check lacks %q: %s", key, encoded)
		}
	}
	example := report.Checks[0]["examples"].([]any)[0].(map[string]any)
	for _, key := range []string{"kind", "client", "room", "seq", "id", "at_ms", "message"} {
		if _, ok := example[key]; !ok {
			t.Fatalf("violation lacks %q: %v", key, example)
		}
	}
	for _, key := range []string{"sent", "acked", "delivered", "lost", "duplicated", "reordered", "latency_ms"} {
		if _, ok := report.Stats[key]; !ok {
			t.Fatalf("stats lack %q: %s", key, encoded)
		}
	}
	latency := report.Stats["latency_ms"].(map[string]any)
	for _, key := range []string{"p50", "p99", "max"} {
		if _, ok := latency[key]; !ok {
			t.Fatalf("latency_ms lacks %q", key)
		}
	}
}

func TestCheckHistorySameVerdictAfterJSONL(t *testing.T) {
	h := cleanRoom(trio, 4).message("r", "a-5", 5, "e1", "a").again("a", "r", 5, "a-5", "e1").h
	var buffer bytes.Buffer
	if err := h.WriteJSONL(&buffer); err != nil {
		t.Fatal(err)
	}
	read, err := ReadJSONL(&buffer)
	if err != nil {
		t.Fatal(err)
	}
	checks, stats := CheckHistory(h, CheckOptions{})
	checksRead, statsRead := CheckHistory(read, CheckOptions{})
	if !reflect.DeepEqual(checks, checksRead) || stats != statsRead {
		t.Fatalf("verdict changed through JSONL:\n%+v\n%+v", checks, checksRead)
	}
}
