package loadgen

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Summary is what a run measured.
type Summary struct {
	Clients int     `json:"clients"`
	Rooms   int     `json:"rooms"`
	Senders int     `json:"senders"`
	Rate    float64 `json:"send_rate_per_client"`
	Bytes   int     `json:"message_bytes"`
	Idle    bool    `json:"idle"`
	URLs    int     `json:"urls"`
	Counts  Counts  `json:"counts"`
	Missing uint64  `json:"missing"`
	Latency Latency `json:"latency_ms"`
	Settled bool    `json:"settled"`
	// Connected is how many clients held a connection at the end.
	Connected  int `json:"connected"`
	Reconnects int `json:"reconnects"`
	// ConnectMs is the time to open and join every client; SendMs the
	// sending window.
	ConnectMs int64 `json:"connect_ms"`
	SendMs    int64 `json:"send_ms"`
	// SendsPerSecond and DeliveriesPerSecond are over the sending window
	// (deliveries: first to last delivery, which covers the tail).
	SendsPerSecond      float64 `json:"sends_per_second"`
	DeliveriesPerSecond float64 `json:"deliveries_per_second"`
}

// Latency is send-to-delivery time at the receivers, in milliseconds.
type Latency struct {
	Count uint64  `json:"count"`
	P50   int64   `json:"p50"`
	P90   int64   `json:"p90"`
	P99   int64   `json:"p99"`
	Max   int64   `json:"max"`
	Mean  float64 `json:"mean"`
	// Distribution is the latency at distributionPercentiles, as wrk2 and
	// k6 print it (from the run's HdrHistogram).
	Distribution []Percentile `json:"distribution,omitempty"`
}

// Percentile is one point of a latency distribution.
type Percentile struct {
	Percentile float64 `json:"percentile"`
	Ms         int64   `json:"ms"`
}

// distributionPercentiles are the points a summary's distribution gives.
var distributionPercentiles = []float64{50, 75, 90, 99, 99.9, 99.99, 100}

func summarize(cfg Config, clients []*Client, tally *tally, members map[string]int) Summary {
	counts, latency := tally.snapshot()
	s := Summary{Clients: cfg.Clients, Rooms: cfg.Rooms, Senders: cfg.Senders, Rate: cfg.SendRatePerClient,
		Bytes: cfg.MessageBytes, Idle: cfg.Idle, URLs: len(cfg.URLs), Counts: counts, Missing: tally.missing(members),
		Latency: Latency{Count: latency.Count(), P50: latency.Quantile(0.5), P90: latency.Quantile(0.9),
			P99: latency.Quantile(0.99), Max: latency.Max(), Mean: latency.Mean()}}
	if latency.Count() > 0 {
		for _, p := range distributionPercentiles {
			s.Latency.Distribution = append(s.Latency.Distribution, Percentile{Percentile: p, Ms: latency.Quantile(p / 100)})
		}
	}
	for _, c := range clients {
		snapshot := c.Snapshot()
		if snapshot.Connected {
			s.Connected++
		}
		s.Reconnects += snapshot.Reconnects
	}
	return s
}

// rates fills the per-second figures once the windows are known.
func (s *Summary) rates() {
	if s.SendMs > 0 {
		s.SendsPerSecond = float64(s.Counts.Sent) * 1000 / float64(s.SendMs)
	}
	if window := s.Counts.LastDelivery - s.Counts.FirstDelivery; window > 0 {
		s.DeliveriesPerSecond = float64(s.Counts.Delivered) * 1000 / float64(window)
	}
}

// WriteTable prints the summary as an aligned two-column table.
func (s Summary) WriteTable(w io.Writer) error {
	table := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	mode := fmt.Sprintf("%d senders × %g/s, %d B", s.Senders, s.Rate, s.Bytes)
	if s.Idle {
		mode = "idle"
	}
	rows := [][2]string{
		{"clients", fmt.Sprintf("%d on %d URL(s), %d room(s), %s", s.Clients, s.URLs, s.Rooms, mode)},
		{"connected at end", fmt.Sprintf("%d (reconnects %d, dial failures %d)", s.Connected, s.Reconnects, s.Counts.DialFailures)},
		{"connect time", fmt.Sprintf("%d ms", s.ConnectMs)},
		{"sent", fmt.Sprintf("%d (resent %d, failed %d)", s.Counts.Sent, s.Counts.Resent, s.Counts.SendsFailed)},
		{"acked", fmt.Sprint(s.Counts.Acked)},
		{"delivered", fmt.Sprintf("%d (duplicates dropped %d, foreign %d)", s.Counts.Delivered, s.Counts.Duplicates, s.Counts.Foreign)},
		{"missing", fmt.Sprintf("%d acked deliveries never made", s.Missing)},
		{"resets / errors", fmt.Sprintf("%d / %d", s.Counts.Resets, s.Counts.Errors)},
		{"sends/s", fmt.Sprintf("%.0f", s.SendsPerSecond)},
		{"deliveries/s", fmt.Sprintf("%.0f", s.DeliveriesPerSecond)},
		{"latency ms p50 p90 p99 max", fmt.Sprintf("%d %d %d %d (mean %.1f over %d)", s.Latency.P50, s.Latency.P90, s.Latency.P99, s.Latency.Max, s.Latency.Mean, s.Latency.Count)},
		{"settled", fmt.Sprint(s.Settled)},
	}
	for _, row := range rows {
		fmt.Fprintf(table, "%s\t%s\n", row[0], row[1])
	}
	if err := table.Flush(); err != nil {
		return err
	}
	if len(s.Latency.Distribution) > 0 {
		fmt.Fprintln(w, "latency distribution (HdrHistogram, ms):")
		for _, p := range s.Latency.Distribution {
			fmt.Fprintf(w, "  %8.3f%%  %d\n", p.Percentile, p.Ms)
		}
	}
	return nil
}
