package local

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"chatlab/system/socket"
)

// Flow is one direction through a fault proxy.
type Flow int

const (
	// Upstream is what the dialing side (a node to Redis, the balancer to a
	// node) sends to the side it dialed.
	Upstream Flow = iota
	// Downstream is the answer.
	Downstream
)

// Limits of a fault proxy.
const (
	// relaysMax bounds the connections one proxy relays; beyond it a new
	// connection is refused rather than let goroutines grow without end.
	relaysMax = 1 << 16
	// chunkBytesMax is one read's buffer. Small, because every idle relayed
	// connection holds one per direction while it waits in Read.
	chunkBytesMax = 8 << 10
	// chunksQueuedMax bounds the chunks read but not yet written in one
	// direction (held by a block or a delay); past it the reader stops and
	// TCP pushes back on the sender, as a real congested link would.
	chunksQueuedMax = 64
	// upstreamDialTimeout bounds the dial to the proxied service.
	upstreamDialTimeout = 2 * time.Second
)

// FaultProxy relays TCP connections from its own listener to an upstream
// address, and breaks them on command: a blocked flow holds its bytes
// until healed (a partition: TCP would retransmit them after it heals), a
// delay holds each chunk that long, and loss cuts a whole connection (a
// chat link cannot lose bytes from the middle of a stream and stay one).
type FaultProxy struct {
	listener net.Listener
	upstream string

	mu      sync.Mutex
	blocked [2]bool
	latency time.Duration
	jitter  time.Duration
	// lossPercent is the chance, per chunk relayed, that its connection is
	// cut.
	lossPercent int
	// filterPushes: the upstream is Redis, and what it sends each
	// connection goes through a pushFilter, which drops pushDropPercent of
	// the pub/sub message pushes (DropPushes); pushesDropped counts them.
	filterPushes    bool
	pushDropPercent float64
	pushesDropped   atomic.Int64
	random          *rand.Rand
	// changed is closed and replaced whenever a control changes, waking
	// every writer that waits on a block.
	changed chan struct{}
	// bufferBytes, when set, bounds what one relay direction holds: its
	// sockets' kernel buffers and its queue of chunks (CapBuffers).
	bufferBytes int
	relays      map[*relay]struct{}
	closed      bool
	// held counts, per flow, the bytes read from its source and not yet
	// written to its sink: what a block or a delay is holding.
	held [2]atomic.Int64

	goroutines sync.WaitGroup
}

// NewFaultProxy listens on a free port of 127.0.0.1 and relays to
// upstream. seed drives the loss decisions, so a run's cuts repeat.
func NewFaultProxy(upstream string, seed uint64) (*FaultProxy, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &FaultProxy{listener: listener, upstream: upstream, random: rand.New(rand.NewPCG(seed, 0xfa17)),
		changed: make(chan struct{}), relays: map[*relay]struct{}{}}
	p.goroutines.Add(1)
	go p.accept()
	return p, nil
}

// Addr is where to connect instead of upstream.
func (p *FaultProxy) Addr() string { return p.listener.Addr().String() }

// Block holds (on) or releases (off) the bytes of one flow.
func (p *FaultProxy) Block(flow Flow, on bool) {
	p.update(func() { p.blocked[flow] = on })
}

// Delay holds every chunk latency ± a random jitter before writing it.
// CapBuffers bounds what each new relay holds in one direction to about
// bytes: the kernel buffers of both its sockets and its queue of chunks. A
// link in front of a client connection must push back like the sockets
// around it, or a client that stops reading hides megabytes in the link.
func (p *FaultProxy) CapBuffers(bytes int) {
	p.update(func() { p.bufferBytes = max(bytes, 0) })
}

func (p *FaultProxy) Delay(latency, jitter time.Duration) {
	p.update(func() { p.latency, p.jitter = max(latency, 0), max(jitter, 0) })
}

// Loss cuts a connection with this chance per chunk relayed, in percent.
func (p *FaultProxy) Loss(percent int) {
	p.update(func() { p.lossPercent = min(max(percent, 0), 100) })
}

// FilterPushes makes the proxy follow the RESP2 frames Redis sends each
// connection opened from now on, so that DropPushes can leave out whole
// pub/sub messages. Call it before any connection, on a proxy in front of
// Redis.
func (p *FaultProxy) FilterPushes() {
	p.update(func() { p.filterPushes = true })
}

// DropPushes loses this share, in percent, of the pub/sub message pushes
// Redis sends through the proxy (0: none again), each push whole, while
// the connections stay up: a subscriber is not told. It needs
// FilterPushes.
func (p *FaultProxy) DropPushes(percent float64) {
	p.update(func() { p.pushDropPercent = min(max(percent, 0), 100) })
}

// PushesDropped is how many pub/sub pushes DropPushes lost.
func (p *FaultProxy) PushesDropped() int { return int(p.pushesDropped.Load()) }

// dropPush draws whether a frame about to start would be dropped, should
// it be a push.
func (p *FaultProxy) dropPush() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pushDropPercent > 0 && p.random.Float64()*100 < p.pushDropPercent
}

// Heal clears every block, delay and loss; held bytes flow on.
func (p *FaultProxy) Heal() {
	p.update(func() {
		p.blocked = [2]bool{}
		p.latency, p.jitter, p.lossPercent = 0, 0, 0
	})
}

// Drop cuts every connection now; both ends see it closed.
func (p *FaultProxy) Drop() {
	p.mu.Lock()
	relays := make([]*relay, 0, len(p.relays))
	for r := range p.relays {
		relays = append(relays, r)
	}
	p.mu.Unlock()
	for _, r := range relays {
		r.cut()
	}
}

// Relays is the number of connections being relayed.
func (p *FaultProxy) Relays() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.relays)
}

// Close stops listening, cuts every connection and waits for its
// goroutines.
func (p *FaultProxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	_ = p.listener.Close()
	p.Drop()
	p.goroutines.Wait()
}

func (p *FaultProxy) update(change func()) {
	p.mu.Lock()
	change()
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

func (p *FaultProxy) accept() {
	defer p.goroutines.Done()
	for {
		conn, err := p.listener.Accept()
		if err != nil {
			return // closed
		}
		p.goroutines.Add(1)
		go p.open(conn)
	}
}

// open dials upstream for one accepted connection and starts its four
// copiers. The dial is not held by a block: the kernel accepts connections
// during a real partition too, and only the bytes stop.
func (p *FaultProxy) open(downstream net.Conn) {
	defer p.goroutines.Done()
	upstream, err := net.DialTimeout("tcp", p.upstream, upstreamDialTimeout)
	if err != nil {
		_ = downstream.Close()
		return
	}
	r := &relay{ends: [2]net.Conn{downstream, upstream}, done: make(chan struct{}), chunkBytes: chunkBytesMax}
	queueLen := chunksQueuedMax
	p.mu.Lock()
	if p.filterPushes {
		r.pushes = &pushFilter{drop: p.dropPush}
	}
	if p.bufferBytes > 0 {
		socket.CapBuffers(downstream, p.bufferBytes)
		socket.CapBuffers(upstream, p.bufferBytes)
		r.chunkBytes = min(chunkBytesMax, max(p.bufferBytes/4, 1))
		queueLen = max(1, p.bufferBytes/r.chunkBytes)
	}
	if p.closed || len(p.relays) >= relaysMax {
		p.mu.Unlock()
		r.cut()
		return
	}
	p.relays[r] = struct{}{}
	p.mu.Unlock()
	for _, flow := range []Flow{Upstream, Downstream} {
		queue := make(chan chunk, queueLen)
		p.goroutines.Add(2)
		go p.read(r, flow, queue)
		go p.write(r, flow, queue)
	}
	<-r.done
	p.mu.Lock()
	delete(p.relays, r)
	p.mu.Unlock()
}

// relay is one proxied connection: ends[0] dialed us, ends[1] is upstream.
type relay struct {
	ends    [2]net.Conn
	done    chan struct{}
	cutOnce sync.Once
	// chunkBytes is the most one read takes.
	chunkBytes int
	// pushes filters what Redis sends (Downstream), when the proxy filters
	// pushes; only Downstream's reader uses it.
	pushes *pushFilter
}

func (r *relay) cut() {
	r.cutOnce.Do(func() {
		close(r.done)
		_ = r.ends[0].Close()
		_ = r.ends[1].Close()
	})
}

// source and sink are the ends a flow reads from and writes to.
func (r *relay) source(flow Flow) net.Conn { return r.ends[flow] }
func (r *relay) sink(flow Flow) net.Conn   { return r.ends[1-flow] }

// chunk is bytes read and when, so that a delay counts from the read. An
// empty chunk is the end of the stream.
type chunk struct {
	data   []byte
	readAt time.Time
}

// read moves chunks from the flow's source into its queue, then the end
// of the stream, so that the writer delivers everything read before it
// cuts the relay.
func (p *FaultProxy) read(r *relay, flow Flow, queue chan<- chunk) {
	defer p.goroutines.Done()
	buffer := make([]byte, r.chunkBytes)
	for {
		n, err := r.source(flow).Read(buffer)
		data := append([]byte(nil), buffer[:n]...)
		if flow == Downstream && r.pushes != nil && n > 0 {
			dropped := r.pushes.dropped
			data = r.pushes.filter(data)
			p.pushesDropped.Add(int64(r.pushes.dropped - dropped))
		}
		if len(data) > 0 { // an empty chunk would end the stream
			p.held[flow].Add(int64(len(data)))
			select {
			case queue <- chunk{data: data, readAt: time.Now()}:
			case <-r.done:
				p.held[flow].Add(-int64(len(data)))
				return
			}
		}
		if err != nil {
			select {
			case queue <- chunk{readAt: time.Now()}:
			case <-r.done:
			}
			return
		}
	}
}

// write delivers the flow's chunks in order, each once its delay is over
// and while the flow is not blocked.
func (p *FaultProxy) write(r *relay, flow Flow, queue <-chan chunk) {
	defer p.goroutines.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		var next chunk
		select {
		case next = <-queue:
		case <-r.done:
			return
		}
		if !p.wait(r, flow, next.readAt, timer) {
			return
		}
		if len(next.data) == 0 || p.lose() {
			r.cut()
			return
		}
		_, err := r.sink(flow).Write(next.data)
		p.held[flow].Add(-int64(len(next.data)))
		if err != nil {
			r.cut()
			return
		}
	}
}

// wait holds a chunk read at readAt until its delay is over and its flow is
// not blocked; false when the relay was cut meanwhile.
func (p *FaultProxy) wait(r *relay, flow Flow, readAt time.Time, timer *time.Timer) bool {
	for {
		p.mu.Lock()
		blocked, changed := p.blocked[flow], p.changed
		hold := p.latency
		if p.jitter > 0 {
			hold += time.Duration(p.random.Int64N(int64(2*p.jitter+1))) - p.jitter
		}
		p.mu.Unlock()
		if blocked {
			select {
			case <-changed:
				continue
			case <-r.done:
				return false
			}
		}
		until := time.Until(readAt.Add(hold))
		if until <= 0 {
			return true
		}
		timer.Reset(until)
		select {
		case <-timer.C:
			return true
		case <-changed:
			// A heal or a new delay: look again.
		case <-r.done:
			return false
		}
	}
}

func (p *FaultProxy) lose() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lossPercent > 0 && p.random.IntN(100) < p.lossPercent
}
