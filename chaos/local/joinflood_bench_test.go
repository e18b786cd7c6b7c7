package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"chatlab/loadgen"
	"chatlab/system/protocol"
)

// joinFloodDurationDefault keeps `make bench` quick; `make bench-joinflood`
// sets JOINFLOOD_DURATION=30s.
const joinFloodDurationDefault = 5 * time.Second

// Other users while one connection floods: JOINFLOOD_CLIENTS clients
// (default 50) in 4 rooms, each sending once a second.
const (
	joinFloodClientsDefault = 50
	joinFloodRooms          = 4
)

// joinFloodUnlimitedArgs switch the node's abuse limits off (as they were
// before them): JOINFLOOD_LIMITS=off measures what they prevent.
var joinFloodUnlimitedArgs = []string{"--frames-per-second", "1000000", "--frame-burst", "1000000",
	"--broker-calls-per-user-max", "4096"}

// BenchmarkJoinFlood is issue 11's figure: one connection flooding joins
// and leaves at full speed (each join a new room) against one `chatlab
// node` on redis-server, while other users send. It reports the node's
// resident memory (before, at most during the flood, and after) and the
// other users' sends: acked out of sent, refused as unavailable (the
// node's broker queue full) and their p99 delivery latency. The flooder
// comes straight back whenever the node closes it (4008 for not slowing
// down), so the flood never stops.
func BenchmarkJoinFlood(b *testing.B) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		b.Skip("redis-server is not on PATH (apt-get install -y redis-server)")
	}
	duration := joinFloodDurationDefault
	if value := os.Getenv("JOINFLOOD_DURATION"); value != "" {
		parsed, err := time.ParseDuration(value)
		if err != nil || parsed <= 0 {
			b.Fatalf("JOINFLOOD_DURATION=%q: want a duration like 30s", value)
		}
		duration = parsed
	}
	clients := envCount(b, "JOINFLOOD_CLIENTS", joinFloodClientsDefault)
	var nodeArgs []string
	limits := "on"
	if os.Getenv("JOINFLOOD_LIMITS") == "off" {
		nodeArgs, limits = joinFloodUnlimitedArgs, "off"
	}
	for range b.N {
		c, err := Start(context.Background(), Config{Binary: binary, Nodes: []string{"n1"}, NoBalancer: true, Redis: RedisServer,
			DirectRedis: true, NodeArgs: nodeArgs, RunDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		measureJoinFlood(b, c, clients, duration, limits)
	}
}

// measureJoinFlood runs the other users for duration with the flood going
// all along their sending window, and reports the figures. It closes c.
func measureJoinFlood(b *testing.B, c *Cluster, clients int, duration time.Duration, limits string) {
	defer c.Close()
	pid := c.PID("n1")
	rssBefore, err := residentBytes(pid)
	if err != nil {
		b.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var flood joinFlooder
	var rssMax atomic.Int64
	var wg sync.WaitGroup
	start := func() {
		wg.Go(func() { flood.run(ctx, c.NodeURLs()[0]+"?user=flooder") })
		wg.Go(func() { sampleRSS(ctx, pid, &rssMax) })
	}
	summary, err := loadgen.Run(context.Background(), loadgen.Config{URLs: c.NodeURLs(), Clients: clients, Rooms: joinFloodRooms,
		SendRatePerClient: 1, MessageBytes: 64, Duration: duration, NamePrefix: "user", OnJoined: start})
	stop()
	wg.Wait()
	if err != nil {
		b.Fatal(err)
	}
	rssAfter, err := residentBytes(pid)
	if err != nil {
		b.Fatal(err)
	}
	counts := summary.Counts
	success := 0.0
	if counts.Sent > 0 {
		success = 100 * float64(counts.Acked) / float64(counts.Sent)
	}
	mib := func(bytes int64) float64 { return float64(bytes) / (1 << 20) }
	b.ReportMetric(mib(rssMax.Load()), "rss-max-MiB")
	b.ReportMetric(success, "sends-acked-%")
	b.ReportMetric(float64(summary.Latency.P99), "p99-ms")
	b.ReportMetric(float64(flood.frames.Load())/duration.Seconds(), "flood-frames/s")
	b.Logf("join flood for %s against one node on redis-server (abuse limits %s): the flooder wrote %d frames (%.0f/s), was closed %d times (4008 %d; codes %s); "+
		"node RSS %.1f MiB before, at most %.1f during, %.1f after; %d other users sent %d, acked %d (%.2f%%), %d refusals (unavailable or rate limited, resent), %d given up; "+
		"their delivery latency p50 %d ms, p99 %d ms, max %d ms",
		duration, limits, flood.frames.Load(), float64(flood.frames.Load())/duration.Seconds(), flood.closes.Load(), flood.policyCloses.Load(), flood.closeCodes(),
		mib(rssBefore), mib(rssMax.Load()), mib(rssAfter), clients, counts.Sent, counts.Acked, success, counts.Errors, counts.SendsFailed,
		summary.Latency.P50, summary.Latency.P99, summary.Latency.Max)
}

// sampleRSS keeps the largest resident size of pid, read every 200 ms,
// until ctx ends.
func sampleRSS(ctx context.Context, pid int, largest *atomic.Int64) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if rss, err := residentBytes(pid); err == nil && rss > largest.Load() {
			largest.Store(rss)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// joinFlooder is one connection that leaves the room it joined last and
// joins a new one, as fast as it can write, reading and dropping what the
// node answers; it dials again at once whenever the node closes it.
type joinFlooder struct {
	frames, closes, policyCloses atomic.Int64
	mu                           sync.Mutex
	codes                        map[int]int // close codes seen (0: no close frame)
}

// closeCodes says how the flooder's connections ended, by close code.
func (f *joinFlooder) closeCodes() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	codes := make([]int, 0, len(f.codes))
	for code := range f.codes {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	text := ""
	for _, code := range codes {
		if text != "" {
			text += ", "
		}
		text += fmt.Sprintf("%d×%d", code, f.codes[code])
	}
	return text
}

func (f *joinFlooder) run(ctx context.Context, url string) {
	room := 0
	for ctx.Err() == nil {
		conn, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
		if err != nil {
			time.Sleep(10 * time.Millisecond) // refused (a cap); try again soon
			continue
		}
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			defer conn.Close() // the writer's next write fails: dial again
			for {
				if _, _, err := conn.ReadMessage(); err != nil {
					f.closes.Add(1)
					code := 0
					var closeErr *websocket.CloseError
					if errors.As(err, &closeErr) {
						code = closeErr.Code
					}
					if code == protocol.ClosePolicy {
						f.policyCloses.Add(1)
					}
					f.mu.Lock()
					if f.codes == nil {
						f.codes = map[int]int{}
					}
					f.codes[code]++
					f.mu.Unlock()
					return
				}
			}
		}()
		stopped := context.AfterFunc(ctx, func() { conn.Close() })
		for ctx.Err() == nil {
			room++
			frame := `{"type":"join","room":"flood-` + strconv.Itoa(room) + `"}`
			if room%2 == 0 {
				frame = `{"type":"leave","room":"flood-` + strconv.Itoa(room-1) + `"}`
			}
			if err := conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
				break
			}
			f.frames.Add(1)
		}
		conn.Close()
		stopped()
		<-closed
	}
}
