package chaos

import "testing"

// Shards of every count split the positions between them: each position
// in exactly one shard, as First and Step walk them.
func TestShardsPartitionThePositions(t *testing.T) {
	for count := 1; count <= 5; count++ {
		owner := map[uint64]int{}
		for index := 1; index <= count; index++ {
			s := Shard{Index: index, Count: count}
			for p := s.First(); p < 23; p += s.Step() {
				if !s.Has(p) {
					t.Errorf("%d/%d walks to %d but does not have it", index, count, p)
				}
				if other, ok := owner[p]; ok {
					t.Errorf("position %d in shards %d and %d of %d", p, other, index, count)
				}
				owner[p] = index
			}
		}
		if len(owner) != 23 {
			t.Errorf("%d shards cover %d of 23 positions", count, len(owner))
		}
	}
	if !(Shard{}).Has(7) || (Shard{}).String() != "" {
		t.Error("the zero shard is not the whole run")
	}
}
