package proxy

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"chatlab/system/balance"
)

// BenchmarkAddedLatency measures one echo round trip direct to a backend
// and through the balancer, alternating, in one run, and reports p50 and
// p99 of each and their ratio.
func BenchmarkAddedLatency(b *testing.B) {
	backend := newEchoBackend(b, "n1")
	p := startProxy(b, balance.Config{}, balance.Backend{Name: "n1", Addr: backend.addr()})
	direct, _, err := websocket.DefaultDialer.Dial("ws://"+backend.addr()+"/ws?user=direct", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer direct.Close()
	direct.ReadMessage()
	proxied, _ := dial(b, p, "user=proxied")
	proxied.SetReadDeadline(time.Time{})
	message := []byte(`{"type":"send","room":"lobby","id":"m1","body":"a chat message of ordinary length"}`)
	roundTrip := func(ws *websocket.Conn) time.Duration {
		start := time.Now()
		if err := ws.WriteMessage(websocket.TextMessage, message); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ws.ReadMessage(); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	var directSamples, proxiedSamples []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Alternate which goes first, so neither always runs on a warm path.
		if i%2 == 0 {
			directSamples = append(directSamples, roundTrip(direct))
			proxiedSamples = append(proxiedSamples, roundTrip(proxied))
		} else {
			proxiedSamples = append(proxiedSamples, roundTrip(proxied))
			directSamples = append(directSamples, roundTrip(direct))
		}
	}
	b.StopTimer()
	directP50, directP99 := percentile(directSamples, 50), percentile(directSamples, 99)
	proxiedP50, proxiedP99 := percentile(proxiedSamples, 50), percentile(proxiedSamples, 99)
	b.ReportMetric(micros(directP50), "direct-p50-µs")
	b.ReportMetric(micros(directP99), "direct-p99-µs")
	b.ReportMetric(micros(proxiedP50), "balancer-p50-µs")
	b.ReportMetric(micros(proxiedP99), "balancer-p99-µs")
	b.ReportMetric(float64(proxiedP50)/float64(directP50), "p50-ratio")
	b.ReportMetric(float64(proxiedP99)/float64(directP99), "p99-ratio")
}

func percentile(samples []time.Duration, p int) time.Duration {
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	return sorted[(len(sorted)-1)*p/100]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// idleConnections is how many connections the memory benchmark holds open.
const idleConnections = 2000

// BenchmarkIdleConnectionMemory opens idleConnections WebSocket clients
// direct to a backend, then as many through the balancer, all in this
// process, and reports what the balancer's half adds per connection: Go
// heap and stacks (after GC) and resident memory.
func BenchmarkIdleConnectionMemory(b *testing.B) {
	for range b.N {
		backend := newEchoBackend(b, "n1")
		p := startProxy(b, balance.Config{}, balance.Backend{Name: "n1", Addr: backend.addr()})
		base := measureMemory()
		directConns := openIdle(b, "ws://"+backend.addr()+"/ws")
		afterDirect := measureMemory()
		proxiedConns := openIdle(b, "ws://"+p.Addr()+"/ws")
		eventually(b, "every link to be open", func() bool { return p.State().Runtime.Links == idleConnections })
		afterProxied := measureMemory()
		directGo := afterDirect.goBytes - base.goBytes
		proxiedGo := afterProxied.goBytes - afterDirect.goBytes
		directRSS := afterDirect.rssBytes - base.rssBytes
		proxiedRSS := afterProxied.rssBytes - afterDirect.rssBytes
		b.ReportMetric(float64(proxiedGo-directGo)/idleConnections, "balancer-go-bytes/conn")
		b.ReportMetric(float64(proxiedRSS-directRSS)/idleConnections, "balancer-rss-bytes/conn")
		directStack := afterDirect.stackBytes - base.stackBytes
		proxiedStack := afterProxied.stackBytes - afterDirect.stackBytes
		b.ReportMetric(float64(proxiedStack-directStack)/idleConnections, "balancer-stack-bytes/conn")
		b.ReportMetric(float64(directGo)/idleConnections, "direct-go-bytes/conn")
		for _, ws := range append(directConns, proxiedConns...) {
			ws.Close()
		}
	}
}

type memory struct {
	goBytes    int64 // heap in use plus goroutine stacks
	stackBytes int64
	rssBytes   int64
}

func measureMemory() memory {
	// Two collections: the first frees, the second lets stacks shrink and
	// finalizers run.
	runtime.GC()
	runtime.GC()
	var stats runtime.MemStats
	runtime.ReadMemStats(&stats)
	return memory{goBytes: int64(stats.HeapInuse + stats.StackInuse), stackBytes: int64(stats.StackInuse), rssBytes: residentBytes()}
}

// residentBytes reads the process's resident set from /proc (0 elsewhere).
func residentBytes() int64 {
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(statm))
	if len(fields) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(fields[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func openIdle(b *testing.B, url string) []*websocket.Conn {
	conns := make([]*websocket.Conn, 0, idleConnections)
	for i := range idleConnections {
		ws, _, err := websocket.DefaultDialer.Dial(fmt.Sprintf("%s?user=u%d", url, i), nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := ws.ReadMessage(); err != nil {
			b.Fatal(err)
		}
		conns = append(conns, ws)
	}
	return conns
}
