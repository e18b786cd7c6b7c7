package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// scrapeWait bounds how long a scrape waits for the loop's snapshot.
const scrapeWait = 2 * time.Second

// metrics is one node's Prometheus registry. The node's own counters are
// read from its snapshot at scrape time (the node is only touched on the
// loop's goroutine); what the runtime sees itself it records directly.
type metrics struct {
	registry        *prometheus.Registry
	deliveryLatency prometheus.Histogram
	brokerLinkUp    prometheus.Gauge
	framesWritten   prometheus.Counter
	frameWrites     prometheus.Counter
	rejectsBinary   prometheus.Counter
}

func newMetrics(s *Server) *metrics {
	registry := prometheus.NewRegistry()
	m := &metrics{
		registry: registry,
		deliveryLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "chatlab_delivery_latency_seconds",
			Help: "Time from a message's acceptance (its ts) to its delivery to this node's members.",
			// 1 ms to ~16 s: local delivery is milliseconds, a fault window seconds.
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
		brokerLinkUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chatlab_broker_link_up",
			Help: "1 while the link to Redis is up with subscriptions in place, else 0.",
		}),
		framesWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatlab_frames_written_total",
			Help: "Frames written to client sockets.",
		}),
		frameWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatlab_frame_writes_total",
			Help: "Writes of frames to client sockets, each one system call carrying a batch of frames.",
		}),
		rejectsBinary: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatlab_binary_frames_total",
			Help: "Binary frames received and rejected.",
		}),
	}
	labeled := prometheus.WrapRegistererWith(prometheus.Labels{"node": s.cfg.ID}, registry)
	labeled.MustRegister(m.deliveryLatency, m.brokerLinkUp, m.framesWritten, m.frameWrites, m.rejectsBinary, &nodeCollector{server: s})
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// nodeCollector exports node.Snapshot's gauges and counters.
type nodeCollector struct {
	server *Server
}

var (
	connectionsDesc   = prometheus.NewDesc("chatlab_connections", "Open client connections.", nil, nil)
	roomsDesc         = prometheus.NewDesc("chatlab_rooms", "Rooms with members on this node.", nil, nil)
	framesInDesc      = prometheus.NewDesc("chatlab_frames_in_total", "Frames received from clients.", nil, nil)
	framesOutDesc     = prometheus.NewDesc("chatlab_frames_out_total", "Frames the node queued for clients.", nil, nil)
	publishesDesc     = prometheus.NewDesc("chatlab_publishes_total", "Sends published to the broker.", nil, nil)
	deliveriesDesc    = prometheus.NewDesc("chatlab_deliveries_total", "Messages delivered to local members.", nil, nil)
	rateLimitedDesc   = prometheus.NewDesc("chatlab_rate_limited_total", "Frames refused by a rate limit or a connection's broker share.", nil, nil)
	policyClosesDesc  = prometheus.NewDesc("chatlab_policy_closes_total", "Connections closed (4008) for not slowing down.", nil, nil)
	slowConsumersDesc = prometheus.NewDesc("chatlab_slow_consumers_total", "Connections cut off for not reading.", nil, nil)
	rejectsDesc       = prometheus.NewDesc("chatlab_rejects_total", "Client frames rejected as invalid.", nil, nil)
	resetsDesc        = prometheus.NewDesc("chatlab_resets_total", "Reset frames sent: history a client missed is gone.", nil, nil)
	fetchesDesc       = prometheus.NewDesc("chatlab_fetches_total", "History fetches from the broker.", nil, nil)
	drainingDesc      = prometheus.NewDesc("chatlab_draining", "1 while the node drains.", nil, nil)
)

func (c *nodeCollector) Describe(descs chan<- *prometheus.Desc) {
	for _, desc := range []*prometheus.Desc{connectionsDesc, roomsDesc, framesInDesc, framesOutDesc, publishesDesc,
		deliveriesDesc, rateLimitedDesc, policyClosesDesc, slowConsumersDesc, rejectsDesc, resetsDesc, fetchesDesc, drainingDesc} {
		descs <- desc
	}
}

func (c *nodeCollector) Collect(out chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(c.server.ctx, scrapeWait)
	defer cancel()
	snapshot, ok := c.server.loop.requestSnapshot(ctx)
	if !ok {
		return
	}
	gauge := func(desc *prometheus.Desc, value float64) {
		out <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, value)
	}
	counter := func(desc *prometheus.Desc, value uint64) {
		out <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(value))
	}
	gauge(connectionsDesc, float64(snapshot.Connections))
	gauge(roomsDesc, float64(len(snapshot.Rooms)))
	draining := 0.0
	if snapshot.Draining {
		draining = 1
	}
	gauge(drainingDesc, draining)
	counters := snapshot.Counters
	counter(framesInDesc, counters.FramesIn)
	counter(framesOutDesc, counters.FramesOut)
	counter(publishesDesc, counters.Publishes)
	counter(deliveriesDesc, counters.Deliveries)
	counter(rateLimitedDesc, counters.RateLimited)
	counter(policyClosesDesc, counters.PolicyCloses)
	counter(slowConsumersDesc, counters.SlowConsumers)
	counter(rejectsDesc, counters.Rejects)
	counter(resetsDesc, counters.Resets)
	counter(fetchesDesc, counters.Fetches)
}
