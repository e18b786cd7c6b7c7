package loadgen

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestHistogramBucketsCoverEveryValueInOrder(t *testing.T) {
	values := []int64{0, 1, 63, 127, 128, 129, 255, 256, 1000, 1 << 20, 1<<40 + 12345, 1<<62 - 1, 1<<63 - 1}
	previous := -1
	for _, value := range values {
		bucket := bucketOf(value)
		if bucket < previous || bucket >= bucketsLen {
			t.Fatalf("value %d in bucket %d (previous %d, %d buckets)", value, bucket, previous, bucketsLen)
		}
		previous = bucket
		if high := bucketHigh(bucket); high < value {
			t.Fatalf("value %d above its bucket's high %d", value, high)
		}
		if bucket > 0 && bucketHigh(bucket-1) >= value {
			t.Fatalf("value %d also fits the bucket below (high %d)", value, bucketHigh(bucket-1))
		}
	}
	for value := range int64(subBucketsLen) {
		if bucketHigh(bucketOf(value)) != value {
			t.Fatalf("small value %d is not exact", value)
		}
	}
}

// Quantiles match an exact sort within the buckets' relative error.
func TestHistogramQuantilesAgainstSortedValues(t *testing.T) {
	random := rand.New(rand.NewPCG(7, 7))
	var h Histogram
	values := make([]int64, 0, 100000)
	for range 100000 {
		value := int64(random.ExpFloat64() * 40) // latency-like: most small, a long tail
		values = append(values, value)
		h.Record(value)
	}
	slices.Sort(values)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		exact := values[max(int(q*float64(len(values)))-1, 0)]
		got := h.Quantile(q)
		if got < exact || float64(got-exact) > float64(exact)/subBucketsHalf+1 {
			t.Errorf("p%g = %d, exact %d", q*100, got, exact)
		}
	}
	if h.Max() != values[len(values)-1] || h.Min() != values[0] || h.Count() != uint64(len(values)) {
		t.Fatalf("max %d min %d count %d, want %d %d %d", h.Max(), h.Min(), h.Count(), values[len(values)-1], values[0], len(values))
	}
}

func TestHistogramMergeEqualsRecordingAll(t *testing.T) {
	var a, b, all Histogram
	for value := range int64(5000) {
		all.Record(value * 3)
		if value%2 == 0 {
			a.Record(value * 3)
		} else {
			b.Record(value * 3)
		}
	}
	a.Merge(&b)
	if a != all {
		t.Fatalf("merged p50 %d p99 %d max %d, recorded p50 %d p99 %d max %d",
			a.Quantile(.5), a.Quantile(.99), a.Max(), all.Quantile(.5), all.Quantile(.99), all.Max())
	}
	var empty Histogram
	if empty.Quantile(0.99) != 0 || empty.Mean() != 0 {
		t.Fatal("an empty histogram reports a value")
	}
	empty.Record(-5)
	if empty.Max() != 0 || empty.Count() != 1 {
		t.Fatalf("a negative value (clock skew) should count as 0: max %d", empty.Max())
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	for i := range b.N {
		h.Record(int64(i & 0xffff))
	}
	b.ReportMetric(float64(h.Quantile(0.99)), "p99-value")
}
