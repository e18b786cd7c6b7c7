package loadgen

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// Quantiles match an exact sort within the histogram's 0.1% precision.
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
		if got < exact || float64(got-exact) > float64(exact)/1000+1 {
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
	for _, q := range []float64{0.5, 0.9, 0.99, 1} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Errorf("merged p%g %d, recorded %d", q*100, a.Quantile(q), all.Quantile(q))
		}
	}
	if a.Count() != all.Count() || a.Max() != all.Max() || a.Mean() != all.Mean() {
		t.Fatalf("merged count %d max %d mean %g, recorded %d %d %g", a.Count(), a.Max(), a.Mean(), all.Count(), all.Max(), all.Mean())
	}
	var empty Histogram
	if empty.Quantile(0.99) != 0 || empty.Mean() != 0 || empty.Count() != 0 {
		t.Fatal("an empty histogram reports a value")
	}
	empty.Record(-5)
	if empty.Max() != 0 || empty.Count() != 1 {
		t.Fatalf("a negative value (clock skew) should count as 0: max %d", empty.Max())
	}
}

// A clone does not see what its original records afterwards.
func TestHistogramCloneIsIndependent(t *testing.T) {
	var h Histogram
	h.Record(10)
	c := h.Clone()
	h.Record(5000)
	if c.Count() != 1 || c.Max() != 10 || h.Count() != 2 {
		t.Fatalf("clone count %d max %d; original count %d", c.Count(), c.Max(), h.Count())
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	for i := range b.N {
		h.Record(int64(i & 0xffff))
	}
	b.ReportMetric(float64(h.Quantile(0.99)), "p99-value")
}
