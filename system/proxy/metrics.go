package proxy

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"chatlab/system/balance"
)

// metrics is the balancer's Prometheus registry. The balancer's gauges and
// counters are read from its snapshot at scrape time, so /metrics and
// /state never disagree; sheds are counted as the runtime carries them out,
// with their reason.
type metrics struct {
	registry *prometheus.Registry
	sheds    *prometheus.CounterVec
}

func newMetrics(p *Proxy) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		sheds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatlab_balancer_sheds_total",
			Help: "Client connections told to reconnect (close 4000), by backend and reason (drain, rebalance).",
		}, []string{"backend", "reason"}),
	}
	m.registry.MustRegister(m.sheds, &balanceCollector{proxy: p},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// balanceCollector exports balance.Snapshot.
type balanceCollector struct {
	proxy *Proxy
}

var (
	backendLabels      = []string{"backend"}
	connectionsDesc    = prometheus.NewDesc("chatlab_balancer_connections", "Open proxied connections per backend.", backendLabels, nil)
	pendingDesc        = prometheus.NewDesc("chatlab_balancer_pending", "Connections picked for a backend whose handshake is in progress.", backendLabels, nil)
	upDesc             = prometheus.NewDesc("chatlab_balancer_backend_up", "1 while the backend is considered healthy.", backendLabels, nil)
	drainingDesc       = prometheus.NewDesc("chatlab_balancer_backend_draining", "1 while the backend is drained by the operator.", backendLabels, nil)
	picksDesc          = prometheus.NewDesc("chatlab_balancer_picks_total", "New connections sent to the backend.", backendLabels, nil)
	dialFailuresDesc   = prometheus.NewDesc("chatlab_balancer_dial_failures_total", "Dials or upgrades to the backend that failed.", backendLabels, nil)
	transitionsDesc    = prometheus.NewDesc("chatlab_balancer_health_transitions_total", "Backend health changes, by direction.", []string{"backend", "to"}, nil)
	refusalsDesc       = prometheus.NewDesc("chatlab_balancer_refusals_total", "Clients refused before any dial, by reason.", []string{"reason"}, nil)
	rebalancingDesc    = prometheus.NewDesc("chatlab_balancer_rebalancing", "1 while a rebalance episode runs.", nil, nil)
	backendDescriptors = []*prometheus.Desc{connectionsDesc, pendingDesc, upDesc, drainingDesc, picksDesc,
		dialFailuresDesc, transitionsDesc, refusalsDesc, rebalancingDesc}
)

func (c *balanceCollector) Describe(descs chan<- *prometheus.Desc) {
	for _, desc := range backendDescriptors {
		descs <- desc
	}
}

func (c *balanceCollector) Collect(metrics chan<- prometheus.Metric) {
	snapshot := c.proxy.balanceSnapshot()
	for _, backend := range snapshot.Backends {
		gauge := func(desc *prometheus.Desc, value float64) {
			metrics <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, value, backend.Name)
		}
		counter := func(desc *prometheus.Desc, value uint64, labels ...string) {
			metrics <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(value), append([]string{backend.Name}, labels...)...)
		}
		gauge(connectionsDesc, float64(backend.Connections))
		gauge(pendingDesc, float64(backend.Pending))
		gauge(upDesc, boolValue(backend.Up))
		gauge(drainingDesc, boolValue(backend.Draining))
		counter(picksDesc, backend.Counters.Picks)
		counter(dialFailuresDesc, backend.Counters.DialFailures)
		counter(transitionsDesc, backend.Counters.WentDown, "down")
		counter(transitionsDesc, backend.Counters.CameUp, "up")
	}
	refusals := []struct {
		reason balance.Refusal
		count  uint64
	}{
		{balance.RefusedNoBackend, snapshot.Counters.RefusedNoBackend},
		{balance.RefusedFull, snapshot.Counters.RefusedFull},
		{balance.RefusedRateLimited, snapshot.Counters.RefusedRateLimited},
		{balance.RefusedSourceRateLimited, snapshot.Counters.RefusedSourceRateLimited},
	}
	for _, refusal := range refusals {
		metrics <- prometheus.MustNewConstMetric(refusalsDesc, prometheus.CounterValue, float64(refusal.count), string(refusal.reason))
	}
	metrics <- prometheus.MustNewConstMetric(rebalancingDesc, prometheus.GaugeValue, boolValue(snapshot.Rebalancing))
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
