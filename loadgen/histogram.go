package loadgen

import (
	"math"
	"math/bits"
)

// Histogram counts non-negative values (milliseconds here) in HDR-style
// log buckets: every value below subBucketsLen exactly, above it with a
// relative error under 1/subBucketsHalf (under 1.6%), in fixed memory and
// O(1) per value.
type Histogram struct {
	counts [bucketsLen]uint64
	total  uint64
	sum    float64
	min    int64
	max    int64
}

const (
	subBucketBits  = 7
	subBucketsLen  = 1 << subBucketBits // values below this have a bucket each
	subBucketsHalf = subBucketsLen / 2  // buckets per power of two above it
	// shiftsMax is how far an int64 may be shifted to fit subBucketBits.
	shiftsMax  = 63 - subBucketBits + 1
	bucketsLen = subBucketsLen + shiftsMax*subBucketsHalf
)

// bucketOf maps a value to its bucket: below subBucketsLen the value
// itself; above, its top subBucketBits bits and how far they were shifted.
func bucketOf(value int64) int {
	if value < subBucketsLen {
		return int(value)
	}
	shift := bits.Len64(uint64(value)) - subBucketBits
	top := int(value >> shift) // in [subBucketsHalf, subBucketsLen)
	return subBucketsLen + (shift-1)*subBucketsHalf + top - subBucketsHalf
}

// bucketHigh is the largest value that falls in a bucket.
func bucketHigh(bucket int) int64 {
	if bucket < subBucketsLen {
		return int64(bucket)
	}
	shift := (bucket-subBucketsLen)/subBucketsHalf + 1
	top := int64((bucket-subBucketsLen)%subBucketsHalf + subBucketsHalf)
	return (top+1)<<shift - 1
}

// Record counts one value; a negative one (clocks of two hosts that
// disagree) counts as 0.
func (h *Histogram) Record(value int64) {
	value = max(value, 0)
	if h.total == 0 || value < h.min {
		h.min = value
	}
	h.max = max(h.max, value)
	h.counts[bucketOf(value)]++
	h.total++
	h.sum += float64(value)
}

// Merge adds other's counts to h.
func (h *Histogram) Merge(other *Histogram) {
	if other.total == 0 {
		return
	}
	if h.total == 0 || other.min < h.min {
		h.min = other.min
	}
	h.max = max(h.max, other.max)
	for i, count := range other.counts {
		h.counts[i] += count
	}
	h.total += other.total
	h.sum += other.sum
}

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 { return h.total }

// Max is the largest value recorded (exact).
func (h *Histogram) Max() int64 { return h.max }

// Min is the smallest value recorded (exact).
func (h *Histogram) Min() int64 { return h.min }

// Mean is the average value (exact).
func (h *Histogram) Mean() float64 {
	if h.total == 0 {
		return 0
	}
	return h.sum / float64(h.total)
}

// Quantile is the value at or below which a fraction q of the values lie,
// as the highest value of its bucket (never above Max); 0 when empty.
func (h *Histogram) Quantile(q float64) int64 {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(min(max(q, 0), 1) * float64(h.total)))
	rank = max(rank, 1)
	var seen uint64
	for bucket, count := range h.counts {
		seen += count
		if seen >= rank {
			return min(bucketHigh(bucket), h.max)
		}
	}
	return h.max
}
