package chaos

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is one of Count parts of a sweep or hunt (--shard I/N): the runs
// whose position p (0, 1, 2, ... in the unsharded run's order) has
// p mod Count == Index-1. The zero Shard is the whole run. Shards split a
// run deterministically, so that N machines each running one shard run
// exactly the unsharded run between them.
type Shard struct {
	// Index is 1..Count.
	Index int
	Count int
}

// ParseShard reads "I/N" with 1 <= I <= N.
func ParseShard(text string) (Shard, error) {
	return ParseShardFrom(text, 1)
}

// ParseShardFrom reads "I/N" whose I counts from base (0 or 1): a
// Kubernetes Indexed Job numbers its pods from 0 (JOB_COMPLETION_INDEX), a
// GitHub Actions matrix as one likes.
func ParseShardFrom(text string, base int) (Shard, error) {
	if base != 0 && base != 1 {
		return Shard{}, fmt.Errorf("--shard-base %d: want 0 or 1", base)
	}
	i, n, found := strings.Cut(text, "/")
	index, errI := strconv.Atoi(i)
	count, errN := strconv.Atoi(n)
	if !found || errI != nil || errN != nil || count < 1 || index < base || index > count-1+base {
		if base == 0 {
			return Shard{}, fmt.Errorf("--shard %q: want I/N with 0 <= I < N (counting from 0), e.g. 1/8", text)
		}
		return Shard{}, fmt.Errorf("--shard %q: want I/N with 1 <= I <= N, e.g. 2/8", text)
	}
	return Shard{Index: index + 1 - base, Count: count}, nil
}

// Has reports whether the run at position p belongs to the shard.
func (s Shard) Has(p uint64) bool {
	if s.Count <= 1 {
		return true
	}
	return p%uint64(s.Count) == uint64(s.Index-1)
}

// First is the shard's first position, Step the distance to its next.
func (s Shard) First() uint64 {
	if s.Count <= 1 {
		return 0
	}
	return uint64(s.Index - 1)
}

// Step is the distance between the shard's positions.
func (s Shard) Step() uint64 {
	if s.Count <= 1 {
		return 1
	}
	return uint64(s.Count)
}

// String is "I/N", or "" for the whole run.
func (s Shard) String() string {
	if s.Count <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}
