package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

func linearizable(b *historyBuilder, delivery string) Check {
	check, _ := checkLinearizable(indexHistory(b.h, delivery), time.Minute)
	return check
}

func TestLinearizablePassesCleanHistory(t *testing.T) {
	check := linearizable(cleanRoom(trio, 20), "")
	expectViolations(t, check, 0, "")
	if check.Detail != "1 logs (room, epoch), 40 operations: linearizable" {
		t.Fatalf("detail %q", check.Detail)
	}
}

func TestLinearizableFlagsTwoIDsAtOneSeq(t *testing.T) {
	b := cleanRoom(trio, 2).
		send("a", "r", "a-3").send("b", "r", "b-4").
		deliver("a", "r", 3, "a-3", "e1").deliver("b", "r", 3, "b-4", "e1").
		ack("a", "r", "a-3", 3).ack("b", "r", "b-4", 4)
	check := linearizable(b, "")
	expectViolations(t, check, 1, "not_linearizable")
	if v := check.Examples[0]; v.Room != "r" || v.Epoch != "e1" {
		t.Fatalf("%+v", v)
	}
}

func TestLinearizableFlagsDeliveryBeforeTheSend(t *testing.T) {
	b := cleanRoom(trio, 2).
		deliver("c", "r", 3, "a-3", "e1").
		send("a", "r", "a-3").ack("a", "r", "a-3", 3).
		deliver("a", "r", 3, "a-3", "e1").deliver("b", "r", 3, "a-3", "e1")
	check := linearizable(b, "")
	expectViolations(t, check, 1, "not_linearizable")
	if !strings.Contains(check.Examples[0].Message, "a-3") {
		t.Fatalf("%+v", check.Examples[0])
	}
}

func TestLinearizableFlagsAckAgainstTheLog(t *testing.T) {
	// a-3 was acked as seq 4, but everybody got it as seq 3 and b-4 as 4.
	b := cleanRoom(trio, 2).message("r", "b-4", 4, "e1", trio...)
	b.send("a", "r", "a-3").ack("a", "r", "a-3", 4)
	for _, name := range trio {
		b.deliver(name, "r", 3, "a-3", "e1")
	}
	expectViolations(t, linearizable(b, ""), 1, "not_linearizable")
}

func TestLinearizableAcceptsTimedOutSends(t *testing.T) {
	applied := cleanRoom(trio, 2).
		send("a", "r", "a-3").deliver("b", "r", 3, "a-3", "e1").deliver("c", "r", 3, "a-3", "e1").sendFailed("a", "r", "a-3").
		message("r", "b-4", 4, "e1", trio...)
	notApplied := cleanRoom(trio, 2).
		send("a", "r", "a-3").sendFailed("a", "r", "a-3").
		message("r", "b-4", 3, "e1", trio...)
	appliedUnseen := cleanRoom(trio, 2).
		send("a", "r", "a-3").sendFailed("a", "r", "a-3").
		message("r", "b-4", 4, "e1", trio...)
	for name, b := range map[string]*historyBuilder{"applied": applied, "not applied": notApplied, "applied, unseen": appliedUnseen} {
		if check := linearizable(b, ""); !check.OK {
			t.Fatalf("%s: %+v", name, check)
		}
	}
}

func TestLinearizableFlagsTheSameIDAppliedTwice(t *testing.T) {
	b := cleanRoom(trio, 2).message("r", "a-3", 3, "e1", trio...).deliver("b", "r", 4, "a-3", "e1")
	expectViolations(t, linearizable(b, ""), 1, "not_linearizable")
}

func TestLinearizablePartitionsByRoomAndEpoch(t *testing.T) {
	b := cleanRoom(trio, 3).
		reset("a", "r", 1, "e2").reset("b", "r", 1, "e2").reset("c", "r", 1, "e2").
		message("r", "a-4", 1, "e2", trio...).
		join("a", "s", 0, "f1").join("b", "s", 0, "f1").
		message("s", "a-5", 1, "f1", "a", "b")
	check := linearizable(b, "")
	expectViolations(t, check, 0, "")
	if !strings.HasPrefix(check.Detail, "3 logs") {
		t.Fatalf("detail %q", check.Detail)
	}
	// The same history with one room's log broken fails that log only.
	b.deliver("b", "s", 1, "a-4", "f1")
	check = linearizable(b, "")
	expectViolations(t, check, 1, "not_linearizable")
	if v := check.Examples[0]; v.Room != "s" {
		t.Fatalf("%+v", v)
	}
}

func TestLinearizableIsNotApplicableInPubSub(t *testing.T) {
	b := newHistory().connect("a").join("a", "r", 0, "").message("r", "a-1", 0, "", "a")
	check := linearizable(b, DeliveryPubSub)
	expectViolations(t, check, 0, "")
	if !strings.HasPrefix(check.Detail, "not applicable") {
		t.Fatalf("detail %q", check.Detail)
	}
}

func TestLinearizableFlagsSeqsNoSendExplains(t *testing.T) {
	// Seqs 3 and 4 were taken, but only one send of unknown outcome exists.
	b := cleanRoom(trio, 2).send("a", "r", "a-3").sendFailed("a", "r", "a-3").
		message("r", "b-5", 5, "e1", trio...)
	check := linearizable(b, "")
	expectViolations(t, check, 1, "unsent_seqs")
	if !strings.Contains(check.Detail, "1 rooms have seqs no send explains") {
		t.Fatalf("detail %q", check.Detail)
	}
}

// TestLinearizableReportsTimeoutAsUnknown gives porcupine far less time
// than a thousand messages take to check.
func TestLinearizableReportsTimeoutAsUnknown(t *testing.T) {
	check, _ := checkLinearizable(indexHistory(cleanRoom(trio, 1000).h, ""), time.Microsecond)
	expectViolations(t, check, 0, "")
	if !strings.HasPrefix(check.Detail, "unknown: timed out") {
		t.Fatalf("detail %q", check.Detail)
	}
}

func TestLinearizabilityVisualizationWritesPage(t *testing.T) {
	b := cleanRoom(trio, 3).deliver("c", "r", 4, "a-9", "e1")
	path := filepath.Join(t.TempDir(), "linearizability.html")
	annotations := []porcupine.Annotation{{Tag: "faults", Start: 2, End: 5, Description: "partition n1"}}
	if err := LinearizabilityVisualization(b.h, path, annotations); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"read(4)", "a-9", "partition n1"} {
		if !strings.Contains(string(page), want) {
			t.Fatalf("page lacks %q", want)
		}
	}
	pubsub := newHistory().connect("a").join("a", "r", 0, "").message("r", "a-1", 0, "", "a")
	if err := LinearizabilityVisualization(pubsub.h, path, nil); err == nil {
		t.Fatal("a pubsub history has no log to visualize")
	}
}

func TestHistoryClientsAreInNameOrder(t *testing.T) {
	b := newHistory().connect("zed").connect("amy").connect("bob")
	got := strings.Join(HistoryClients(b.h), ",")
	if got != "amy,bob,zed" {
		t.Fatalf("clients %s", got)
	}
}
