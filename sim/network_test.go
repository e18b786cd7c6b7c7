package sim

import (
	"testing"
	"time"
)

// recorder is a test endpoint and listener that records what happens.
type recorder struct {
	h        *host
	network  *Network
	received []int
	closes   []int
	flushes  int
	up       bool
	conn     *Conn
}

func (r *recorder) endpointHost() *host        { return r.h }
func (r *recorder) accept(c *Conn)             { r.network.Accept(c, r); r.conn = c }
func (r *recorder) connected(c *Conn)          { r.up = true }
func (r *recorder) receive(c *Conn, p any)     { r.received = append(r.received, p.(int)) }
func (r *recorder) closed(c *Conn, code int)   { r.closes = append(r.closes, code) }
func (r *recorder) flushed(c *Conn, count int) { r.flushes += count }

func pair(t *testing.T, link LinkSpec) (*World, *Network, *recorder, *recorder, *Conn) {
	t.Helper()
	world := NewWorld(1)
	network := NewNetwork(world, link)
	a := &recorder{h: newHost("a"), network: network}
	b := &recorder{h: newHost("b"), network: network}
	c := network.Dial(a, b, "")
	world.RunUntil(time.Second)
	if !a.up || !c.Open() {
		t.Fatal("the dial did not complete")
	}
	return world, network, a, b, c
}

func TestConnectionKeepsOrderUnderJitterAndLoss(t *testing.T) {
	world, network, a, b, c := pair(t, LinkSpec{Latency: time.Millisecond, Jitter: 20 * time.Millisecond, LossPercent: 10})
	for i := 0; i < 200; i++ {
		network.Write(c, a.h, i, 10, uint64(i))
		world.RunUntil(world.Now() + 100*time.Microsecond)
	}
	world.RunUntil(world.Now() + time.Second)
	if len(b.received) != 200 {
		t.Fatalf("received %d of 200", len(b.received))
	}
	for i, v := range b.received {
		if v != i {
			t.Fatalf("message %d arrived in place %d", v, i)
		}
	}
	if a.flushes != 200 {
		t.Fatalf("%d flushes reported, want 200", a.flushes)
	}
}

func TestPartitionHoldsDataThenResets(t *testing.T) {
	world, network, a, b, c := pair(t, LinkSpec{Latency: time.Millisecond})
	network.Partition(a.h, b.h, true)
	network.Write(c, a.h, 1, 10, 1)
	world.RunUntil(world.Now() + time.Second)
	if len(b.received) != 0 {
		t.Fatal("data crossed a partition")
	}
	network.Heal(a.h, b.h)
	world.RunUntil(world.Now() + time.Second)
	if len(b.received) != 1 {
		t.Fatal("held data did not arrive after the heal")
	}
	network.Partition(b.h, a.h, false)
	world.RunUntil(world.Now() + connTimeout + time.Second)
	if c.Open() || len(a.closes) != 1 || len(b.closes) != 1 || a.closes[0] != CloseAbnormal {
		t.Fatalf("a partition past connTimeout: open %v, closes %v %v", c.Open(), a.closes, b.closes)
	}
	d := network.Dial(a, b, "")
	world.RunUntil(world.Now() + dialTimeout + time.Second)
	if d.Open() || len(a.closes) != 2 {
		t.Fatalf("a dial across a partition: open %v closes %v", d.Open(), a.closes)
	}
}

func TestReaderThatStopsReadingStallsTheWriter(t *testing.T) {
	world, network, a, b, c := pair(t, LinkSpec{Latency: time.Millisecond})
	network.SetReading(c, b.h, false)
	const size = 1024
	for i := 0; i < 2*windowBytesMax/size; i++ {
		network.Write(c, a.h, i, size, uint64(i))
	}
	world.RunUntil(world.Now() + time.Second)
	if a.flushes != windowBytesMax/size || len(b.received) != 0 {
		t.Fatalf("flushed %d, received %d; want one window flushed and nothing read", a.flushes, len(b.received))
	}
	network.SetReading(c, b.h, true)
	world.RunUntil(world.Now() + time.Second)
	if a.flushes != 2*windowBytesMax/size || len(b.received) != 2*windowBytesMax/size {
		t.Fatalf("after reading resumed: flushed %d, received %d", a.flushes, len(b.received))
	}
}

func TestBandwidthCapDelaysDelivery(t *testing.T) {
	world, network, a, b, c := pair(t, LinkSpec{BandwidthBytesPerSecond: 1000})
	start := world.Now()
	for i := 0; i < 10; i++ {
		network.Write(c, a.h, i, 100, uint64(i))
	}
	world.RunUntil(start + 999*time.Millisecond)
	if len(b.received) != 9 {
		t.Fatalf("after 999 ms at 1000 B/s, %d of ten 100-byte messages arrived; want 9", len(b.received))
	}
	world.RunUntil(start + time.Second)
	if len(b.received) != 10 {
		t.Fatalf("after 1 s, %d arrived", len(b.received))
	}
}

func TestPausedHostProcessesNothingUntilResumed(t *testing.T) {
	world, network, a, b, c := pair(t, LinkSpec{Latency: time.Millisecond})
	world.pause(b.h)
	network.Write(c, a.h, 1, 10, 1)
	network.Write(c, a.h, 2, 10, 2)
	world.RunUntil(world.Now() + time.Minute)
	if len(b.received) != 0 {
		t.Fatal("a paused host received")
	}
	world.resume(b.h)
	world.RunUntil(world.Now() + time.Millisecond)
	if len(b.received) != 2 || b.received[0] != 1 {
		t.Fatalf("after resume: %v", b.received)
	}
}

func TestCrashResetsThePeerAndDropsTheCrashedHostsEvents(t *testing.T) {
	world, network, a, b, c := pair(t, LinkSpec{Latency: time.Millisecond})
	network.Write(c, a.h, 1, 10, 1)
	world.crash(b.h)
	network.CrashHost(b.h)
	world.RunUntil(world.Now() + time.Second)
	if len(b.received) != 0 || len(a.closes) != 1 || a.closes[0] != CloseAbnormal {
		t.Fatalf("after a crash: received %v, closes %v", b.received, a.closes)
	}
}

// A scenario's pong wait is the simulated connection's life across a cut:
// set low, a cut connection is reset after it and not before.
func TestConnTimeoutIsSettable(t *testing.T) {
	world, network, a, b, c := pair(t, LinkSpec{Latency: time.Millisecond})
	network.ConnTimeout = 1500 * time.Millisecond
	network.Partition(a.h, b.h, true)
	world.RunUntil(world.Now() + time.Second)
	if !c.Open() {
		t.Fatal("the connection was reset before its timeout")
	}
	world.RunUntil(world.Now() + time.Second)
	if c.Open() || len(a.closes) != 1 || a.closes[0] != CloseAbnormal {
		t.Fatalf("a partition past a 1.5 s timeout: open %v, closes %v", c.Open(), a.closes)
	}
}
