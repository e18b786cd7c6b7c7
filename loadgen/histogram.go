package loadgen

import "github.com/HdrHistogram/hdrhistogram-go"

// histogramMaxMs is the largest latency a histogram tells apart (an hour);
// a larger one is counted as this. Three significant digits: a quantile is
// within 0.1% of the exact value.
const (
	histogramMaxMs          = 3_600_000
	histogramSignificantDig = 3
)

// Histogram counts non-negative latencies in milliseconds: an
// HdrHistogram (github.com/HdrHistogram/hdrhistogram-go), mergeable across
// clients, steps and runs. The zero value is empty and ready to use; it is
// not safe for concurrent use (the tally's lock guards it).
type Histogram struct {
	h *hdrhistogram.Histogram
}

func (h *Histogram) ready() *hdrhistogram.Histogram {
	if h.h == nil {
		h.h = hdrhistogram.New(0, histogramMaxMs, histogramSignificantDig)
	}
	return h.h
}

// Record counts one value; a negative one (clocks of two hosts that
// disagree) counts as 0, one beyond an hour as an hour.
func (h *Histogram) Record(value int64) {
	_ = h.ready().RecordValue(min(max(value, 0), histogramMaxMs))
}

// Merge adds other's counts to h.
func (h *Histogram) Merge(other *Histogram) {
	if other.h != nil {
		h.ready().Merge(other.h)
	}
}

// Clone is an independent copy of h.
func (h *Histogram) Clone() Histogram {
	var c Histogram
	c.Merge(h)
	return c
}

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 {
	if h.h == nil {
		return 0
	}
	return uint64(h.h.TotalCount())
}

// Max is the largest value recorded (to the histogram's precision).
func (h *Histogram) Max() int64 {
	if h.h == nil {
		return 0
	}
	return h.h.Max()
}

// Min is the smallest value recorded (to the histogram's precision).
func (h *Histogram) Min() int64 {
	if h.h == nil {
		return 0
	}
	return h.h.Min()
}

// Mean is the average value.
func (h *Histogram) Mean() float64 {
	if h.h == nil {
		return 0
	}
	return h.h.Mean()
}

// Quantile is the value at or below which a fraction q of the values lie;
// 0 when empty.
func (h *Histogram) Quantile(q float64) int64 {
	if h.h == nil {
		return 0
	}
	return h.h.ValueAtQuantile(min(max(q, 0), 1) * 100)
}
