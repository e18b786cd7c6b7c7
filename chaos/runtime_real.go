package chaos

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"chatlab/chaos/check"
)

// Limits of reading a member's runtime figures.
const (
	// runtimeReadWait bounds one GET /metrics (or one forced collection):
	// a member that does not answer within it is left out of the sample.
	runtimeReadWait = 2 * time.Second
	// metricsBytesMax bounds one /metrics answer.
	metricsBytesMax = 4 << 20
)

// The standard collectors' metrics a runtime sample reads (Go's collector
// and the process collector of prometheus/client_golang, which every node
// and the balancer register).
const (
	metricGoroutines   = "go_goroutines"
	metricHeapInuse    = "go_memstats_heap_inuse_bytes"
	metricOpenFDs      = "process_open_fds"
	metricProcessStart = "process_start_time_seconds"
)

// readRuntime reads the runtime figures of the member serving its admin
// endpoints at addr (host:port) from its /metrics. StartedMs is the
// process's start in Unix milliseconds, for the caller to put on the run's
// clock, and AtMs is left to the caller.
func readRuntime(ctx context.Context, addr, member string) (check.RuntimeSample, error) {
	ctx, cancel := context.WithTimeout(ctx, runtimeReadWait)
	defer cancel()
	var sample check.RuntimeSample
	// The text format, which the parser reads.
	err := getAdmin(ctx, "http://"+addr+"/metrics", string(expfmt.NewFormat(expfmt.TypeTextPlain)), metricsBytesMax,
		func(body io.Reader) (err error) {
			sample, err = parseRuntime(body, member)
			return err
		})
	return sample, err
}

// parseRuntime reads a runtime sample from a Prometheus text exposition.
func parseRuntime(in io.Reader, member string) (check.RuntimeSample, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(in)
	if err != nil {
		return check.RuntimeSample{}, fmt.Errorf("%s /metrics: %w", member, err)
	}
	values := map[string]float64{}
	for _, name := range []string{metricGoroutines, metricHeapInuse, metricOpenFDs, metricProcessStart} {
		value, ok := gaugeValue(families[name])
		if !ok {
			return check.RuntimeSample{}, fmt.Errorf("%s /metrics: no %s (the runtime figures need Go's and the process's collectors, on Linux)", member, name)
		}
		values[name] = value
	}
	return check.RuntimeSample{Member: member, StartedMs: int64(math.Round(values[metricProcessStart] * 1000)),
		Goroutines: int(values[metricGoroutines]), HeapBytes: int64(values[metricHeapInuse]), OpenFDs: int(values[metricOpenFDs])}, nil
}

// gaugeValue is the value of a family's one unlabelled gauge.
func gaugeValue(family *dto.MetricFamily) (float64, bool) {
	if family == nil || len(family.GetMetric()) != 1 || family.GetMetric()[0].GetGauge() == nil {
		return 0, false
	}
	return family.GetMetric()[0].GetGauge().GetValue(), true
}

// collectGarbage has the member at addr run a full garbage collection
// (Go's heap profile with gc=1, on the admin listener), so that the next
// sample's heap holds live objects only.
func collectGarbage(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, runtimeReadWait)
	defer cancel()
	return getAdmin(ctx, "http://"+addr+"/debug/pprof/heap?gc=1", "", metricsBytesMax, func(body io.Reader) error {
		_, err := io.Copy(io.Discard, body)
		return err
	})
}
