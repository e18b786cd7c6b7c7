package node

import (
	"testing"

	"chatlab/system/protocol"
)

func TestRingGrowsToItsLimitThenDropsTheOldest(t *testing.T) {
	r := newRing(40, 0)
	if len(r.entries) != 0 {
		t.Fatalf("a new ring holds %d entries of storage, want none", len(r.entries))
	}
	for seq := uint64(1); seq <= 100; seq++ {
		r.push(entry{msg: protocol.Msg{Seq: seq}})
		if r.count > 40 || len(r.entries) > 40 {
			t.Fatalf("after seq %d: count %d, storage %d; the limit is 40", seq, r.count, len(r.entries))
		}
		low := uint64(1)
		if seq > 40 {
			low = seq - 39
		}
		for want := low; want <= seq; want++ {
			if e, ok := r.get(want); !ok || e.msg.Seq != want {
				t.Fatalf("after seq %d: get(%d) = %+v, %v", seq, want, e.msg, ok)
			}
		}
		if _, ok := r.get(low - 1); ok && low > 1 {
			t.Fatalf("after seq %d: still holds seq %d", seq, low-1)
		}
	}
	r.reset(7)
	if _, ok := r.get(100); ok || r.count != 0 {
		t.Fatal("reset kept entries")
	}
}
