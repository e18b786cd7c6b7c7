package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"chatlab/chaos/check"
	"chatlab/loadgen"
	"chatlab/scenarios"
	"chatlab/system/balance"
	"chatlab/system/client"
)

// Limits and timings of a run on real processes or containers.
const (
	// realRejoinDelay is how long a churning client stays out of a room, as
	// in the simulator's workload.
	realRejoinDelay = 500 * time.Millisecond
	// sampleInterval is how often the cluster's state is sampled for the
	// report's charts.
	sampleInterval = time.Second
	// sampleStateWait bounds one GET /state of a sample: a member that does
	// not answer within it is shown down.
	sampleStateWait = 800 * time.Millisecond
	// stateBytesMax bounds one /state answer.
	stateBytesMax = 16 << 20
	// convergePollInterval paces the convergence checks.
	convergePollInterval = 100 * time.Millisecond
	// convergeQuietWait is how long no delivery and no ack may arrive
	// before the clients count as settled.
	convergeQuietWait = time.Second
	// clientsStopWait bounds the wait for the clients' goroutines at Stop;
	// each closes its connection and returns at once, so reaching it means
	// one is stuck.
	clientsStopWait = 10 * time.Second
	// settleWaitMax bounds the wait, after the clients left, for the
	// processes to let go of what they held for them: a connection's
	// goroutines end once its close handshake is over (closeWait, 2 s) or
	// the balancer's CloseWait passes.
	settleWaitMax = 30 * time.Second
	// labSocketBufferBytes caps the kernel buffers of every socket of a
	// real run: nodes, balancer and clients. The kernel's own grow to
	// megabytes on loopback and would swallow a whole slow-consumer window.
	labSocketBufferBytes = 32 * 1024
)

// labArgs are the flags the real targets give every node and the balancer.
var labArgs = []string{"--socket-buffer", strconv.Itoa(labSocketBufferBytes)}

// nodeArgs are the flags the real targets give every node: the lab's own
// and the scenario's retention and room poll, which the simulator's nodes
// and Redis get too, and its pub/sub buffer, which only real nodes have.
func nodeArgs(topology scenarios.Topology) []string {
	args := append(slices.Clone(labArgs), "--recent-len-max", strconv.Itoa(topology.RecentLenMax),
		"--history-len-max", strconv.Itoa(topology.HistoryLenMax))
	if topology.RoomPollInterval > 0 {
		args = append(args, "--room-poll-interval", topology.RoomPollInterval.String())
	}
	if topology.PubSubBuffer > 0 {
		args = append(args, "--pubsub-buffer", strconv.Itoa(topology.PubSubBuffer))
	}
	if topology.RedisReplicasAck > 0 {
		args = append(args, "--redis-replicas-ack", strconv.Itoa(topology.RedisReplicasAck))
	}
	if topology.RedisEpochFence {
		args = append(args, "--redis-epoch-fence")
	}
	return append(args, timerArgs(topology, "--pong-wait", "--drain-timeout", "--write-timeout")...)
}

// balancerArgs are the flags the real targets give the balancer: the
// lab's own and the scenario's drain and write timers.
func balancerArgs(topology scenarios.Topology) []string {
	if topology.BalancerWriteWait > 0 {
		topology.WriteTimeout = topology.BalancerWriteWait
	}
	return append(slices.Clone(labArgs), timerArgs(topology, "", "--drain-timeout", "--write-wait")...)
}

// timerArgs passes the scenario's timers that are set under the given
// flag names ("" for a timer the process does not have).
func timerArgs(topology scenarios.Topology, pongWait, drainTimeout, writeTimeout string) []string {
	var args []string
	for _, timer := range []struct {
		flag  string
		value time.Duration
	}{{pongWait, topology.PongWait}, {drainTimeout, topology.DrainTimeout}, {writeTimeout, topology.WriteTimeout}} {
		if timer.flag != "" && timer.value > 0 {
			args = append(args, timer.flag, timer.value.String())
		}
	}
	return args
}

// realSystem is what a real target (local processes, Docker containers)
// provides to the shared workload, recorder and sampler: the topology and
// the faults of scenarios.Fault that act on it.
type realSystem interface {
	// start brings the topology up and returns once it takes clients.
	start(ctx context.Context) error
	// entryURLs are the WebSocket endpoints ordinary clients dial (the
	// balancer); they may change when the balancer restarts, and there may
	// be none while it is down.
	entryURLs(ctx context.Context) ([]string, error)
	// balancerAdmin is where the balancer serves its operator endpoints
	// (host:port): /decisions. It may fail while a fault is applied.
	balancerAdmin(ctx context.Context) (string, error)
	// memberURL is a node's own WebSocket endpoint (a flood that names one).
	memberURL(ctx context.Context, name string) (string, error)
	// abuserAddr is the address the abusing clients dial from (nil: the
	// system's default), or an error saying why the target cannot give
	// them one of their own.
	abuserAddr() (net.IP, error)
	// fault carries out a step of every action but flood, slow-consumer,
	// away and the abuses, which act on clients.
	fault(ctx context.Context, step Step) error
	// restore ends every fault still in force on the system: links healed,
	// processes resumed, Redis and the balancer started if down.
	restore(ctx context.Context) error
	// sample is the system's state now (AtMs left to the caller). It may
	// run while a fault is applied, from another goroutine.
	sample(ctx context.Context) Sample
	// adminAddrs are the admin endpoints (host:port) of the nodes and the
	// balancer running now, by name; a member it cannot reach now is left
	// out.
	adminAddrs(ctx context.Context) map[string]string
	// heads are the rooms' heads as Redis has them, or nil when the target
	// cannot read Redis (the clients' agreement decides then).
	heads(ctx context.Context, rooms []string) (map[string]roomHead, error)
	// close tears the system down.
	close()
}

// roomHead is a room's last seq and epoch in Redis.
type roomHead struct {
	Head  uint64
	Epoch string
}

// realCluster runs a scenario's workload and faults on a realSystem with
// real WebSocket clients, and records their history on one clock: the
// milliseconds since Start, as the simulator's virtual time.
type realCluster struct {
	target   string
	scenario *scenarios.Scenario
	seed     uint64
	system   realSystem

	startedAt   time.Time
	clientsStop context.CancelFunc
	clientsCtx  context.Context
	// workload are the scenario's ordinary clients, in creation order;
	// slow-consumer faults pick from the front.
	workload []*loadgen.Client
	// listeners join rooms and never send (the scenario's listeners).
	listeners []*loadgen.Client
	// floods are the flooding clients by fault index.
	floods map[int]*floodGroup
	// abuses are the running abusers by fault index.
	abuses map[int]*abuse
	// entryClients dial the entry URLs (every client but a flood aimed at
	// one node), which a balancer restart may change.
	entryClients []*loadgen.Client
	entryURLs    []string
	running      sync.WaitGroup // clients' Run goroutines
	drivers      sync.WaitGroup // the workload's and floods' send loops

	mu          sync.Mutex
	history     check.History
	lastTraffic time.Time // the latest delivery or ack
	samples     []Sample

	samplerStop context.CancelFunc
	samplerDone chan struct{}

	// decisionsMu guards decisions, read by the sampler and at the end.
	decisionsMu sync.Mutex
	decisions   decisionReader
}

// listenerStream keeps the listeners' random sources apart from the
// workload's (stream 0) and the floods' (their fault index + 1).
const listenerStream = 1 << 20

// floodGroup is one flood fault's clients.
type floodGroup struct {
	clients []*loadgen.Client
	stop    context.CancelFunc
}

func newRealCluster(target string, scenario *scenarios.Scenario, seed uint64, system realSystem) *realCluster {
	return &realCluster{target: target, scenario: scenario, seed: seed, system: system, floods: map[int]*floodGroup{},
		abuses: map[int]*abuse{}}
}

func (r *realCluster) Target() string { return r.target }

// RedisDescription says which Redis the system runs, once started.
func (r *realCluster) RedisDescription() string {
	if d, ok := r.system.(interface{ redisDescription() string }); ok {
		return d.redisDescription()
	}
	return ""
}

// Start brings the system up; time 0 is when it takes clients. The
// workload's clients then connect through the entry, join their rooms and
// send on their own schedule.
func (r *realCluster) Start(ctx context.Context) error {
	if err := r.system.start(ctx); err != nil {
		return err
	}
	urls, err := r.system.entryURLs(ctx)
	if err != nil {
		r.system.close() // the runner stops only a cluster that started
		return err
	}
	r.startedAt, r.entryURLs = time.Now(), urls
	r.decisions.startedAt = r.startedAt
	// The processes as they are before any client: each one's baseline.
	r.sampleNow(ctx)
	r.clientsCtx, r.clientsStop = context.WithCancel(context.Background())
	w := r.scenario.Workload
	r.workload = r.startClients(r.clientsCtx, workloadSpec{prefix: "c", clients: w.Clients, roomsPerClient: roomsPerClient,
		from: simWarmup, stop: w.Duration, sendInterval: interval(float64(w.SendRatePerClient)),
		churnInterval: interval(float64(w.JoinLeave)), dropInterval: interval(float64(w.Reconnects)), sendBurst: w.SendBurst, urls: urls})
	r.entryClients = append(r.entryClients, r.workload...)
	if w.Listeners > 0 {
		// No schedule: they join, then only keepalive keeps them connected.
		r.listeners = r.startClients(r.clientsCtx, workloadSpec{prefix: ListenerClientPrefix, clients: w.Listeners,
			roomsPerClient: roomsPerClient, stop: w.Duration, urls: urls, stream: listenerStream})
		r.entryClients = append(r.entryClients, r.listeners...)
	}
	samplerCtx, stop := context.WithCancel(context.Background())
	r.samplerStop, r.samplerDone = stop, make(chan struct{})
	go r.sampleEvery(samplerCtx)
	return nil
}

// workloadSpec is one group of clients and their traffic, as sim.Workload.
type workloadSpec struct {
	prefix         string
	clients        int
	roomsPerClient int
	from, stop     time.Duration // sends run from..stop after Start
	sendInterval   time.Duration
	churnInterval  time.Duration
	dropInterval   time.Duration
	// sendBurst is how many sends each scheduled send makes (0 or 1: one).
	sendBurst int
	urls      []string
	machine   client.Config
	// stream keeps the group's random sources apart from other groups'.
	stream uint64
}

// startClients creates the group's clients, joins each to its rooms (client
// i joins rooms i, i+1, ... modulo the scenario's rooms, as the simulator
// does) and starts their loops and send schedules; the schedules end with
// ctx or at the group's stop.
func (r *realCluster) startClients(ctx context.Context, spec workloadSpec) []*loadgen.Client {
	rooms := r.scenario.Workload.Rooms
	clients := make([]*loadgen.Client, 0, spec.clients)
	for i := range spec.clients {
		name := fmt.Sprintf("%s%03d", spec.prefix, i+1)
		machine := spec.machine
		machine.User, machine.Name = name, name
		stream := spec.stream<<32 | uint64(i)<<2
		c := loadgen.NewClient(loadgen.ClientConfig{Machine: machine, Seed: mix(r.seed, stream), URLs: spec.urls,
			Record: r.record, Epoch: r.startedAt, SocketBufferBytes: labSocketBufferBytes})
		var joined []string
		for k := range min(spec.roomsPerClient, rooms) {
			room := workloadRoom((i+k)%rooms + 1)
			joined = append(joined, room)
			c.Join(room)
		}
		r.running.Go(func() { c.Run(r.clientsCtx) })
		d := &driver{client: c, name: name, rooms: joined, bodyBytes: r.scenario.Workload.MessageBytes, spec: spec,
			startedAt: r.startedAt, seed: mix(r.seed, stream|1)}
		r.drivers.Go(func() { d.run(ctx) })
		clients = append(clients, c)
	}
	return clients
}

// mix derives an independent 64-bit seed from a run's seed and a stream
// number (splitmix64's finalizer).
func mix(seed, stream uint64) uint64 {
	z := seed + stream*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// record takes every client event, rebased to the run's clock: AtMs is
// already relative (the clients' clock starts at Start); TS, the node's
// Unix-millisecond stamp, is moved onto it.
func (r *realCluster) record(name string, event client.Event) {
	if event.TS != 0 {
		event.TS -= r.startedAt.UnixMilli()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.history = append(r.history, check.Record{Client: name, Event: event})
	if event.Kind == client.KindDelivered || event.Kind == client.KindAcked {
		r.lastTraffic = time.Now()
	}
}

func (r *realCluster) RunUntil(ctx context.Context, t time.Duration) error {
	wait := time.NewTimer(time.Until(r.startedAt.Add(t)))
	defer wait.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-wait.C:
		return nil
	}
}

func (r *realCluster) Now() time.Duration {
	if r.startedAt.IsZero() {
		return 0
	}
	return time.Since(r.startedAt)
}

// Apply carries out one step now: floods, slow consumers and clients gone
// away on the clients, everything else on the system.
func (r *realCluster) Apply(ctx context.Context, step Step) error {
	f := step.Fault
	switch f.Action {
	case scenarios.Flood:
		return r.flood(ctx, step)
	case scenarios.SlowConsumer:
		for _, c := range r.workload[:min(f.Clients, len(r.workload))] {
			c.SetReading(step.End)
		}
		return nil
	case scenarios.Away:
		for _, c := range awayClients(r.workload, f.Clients) {
			c.SetOffline(!step.End)
		}
		return nil
	case scenarios.JoinFlood, scenarios.ConnFlood, scenarios.UpgradeAborts, scenarios.Garbage:
		return r.startAbuse(ctx, step)
	}
	if err := r.system.fault(ctx, step); err != nil {
		return err
	}
	// A process the step started is sampled as soon as it is ready, before
	// the balancer sends it clients: its own baseline.
	r.sampleNow(ctx)
	return r.refreshEntry(ctx)
}

// faultURLs are where the connections of a fault that acts through
// clients (a flood, an abuse) go: the node it names, or the entry every
// client dials.
func (r *realCluster) faultURLs(ctx context.Context, f scenarios.Fault) ([]string, error) {
	if !slices.Contains(r.scenario.Topology.Nodes, f.Target) {
		return r.entryURLs, nil
	}
	url, err := r.system.memberURL(ctx, f.Target)
	if err != nil {
		return nil, err
	}
	return []string{url}, nil
}

// flood starts a flood fault's clients (named as the simulator names them,
// so the latency check leaves them out), or stops their sending at the
// window's end.
func (r *realCluster) flood(ctx context.Context, step Step) error {
	index := slices.IndexFunc(r.scenario.Faults, func(f scenarios.Fault) bool { return f == step.Fault })
	if step.End {
		if group := r.floods[index]; group != nil {
			group.stop()
		}
		return nil
	}
	f := step.Fault
	urls, err := r.faultURLs(ctx, f)
	if err != nil {
		return err
	}
	stop := r.scenario.Workload.Duration
	if f.Duration > 0 {
		stop = min(f.End(), stop)
	}
	floodCtx, cancel := context.WithCancel(r.clientsCtx)
	group := &floodGroup{stop: cancel}
	group.clients = r.startClients(floodCtx, workloadSpec{prefix: FloodClientPrefix + strconv.Itoa(index+1) + "-", clients: f.Clients,
		roomsPerClient: 1, from: r.Now() + time.Millisecond, stop: stop, sendInterval: interval(float64(f.FloodSendRate)),
		urls: urls, machine: client.Config{PendingSendsMax: floodPendingSendsMax}, stream: uint64(index + 1)})
	r.floods[index] = group
	if f.Target == scenarios.BalancerName {
		r.entryClients = append(r.entryClients, group.clients...)
	}
	return nil
}

// refreshEntry hands the clients the entry's endpoints again when they
// changed (a balancer container restarted on another host port).
func (r *realCluster) refreshEntry(ctx context.Context) error {
	urls, err := r.system.entryURLs(ctx)
	if err != nil || len(urls) == 0 || slices.Equal(urls, r.entryURLs) {
		return err
	}
	r.mu.Lock()
	r.entryURLs = urls
	r.mu.Unlock()
	for _, c := range r.entryClients {
		c.SetURLs(urls)
	}
	return nil
}

// allClients are the workload's, the listeners' and the floods' clients,
// in a fixed order.
func (r *realCluster) allClients() []*loadgen.Client {
	clients := append(slices.Clone(r.workload), r.listeners...)
	indexes := make([]int, 0, len(r.floods))
	for index := range r.floods {
		indexes = append(indexes, index)
	}
	sort.Ints(indexes)
	for _, index := range indexes {
		clients = append(clients, r.floods[index].clients...)
	}
	return clients
}

// Converge ends every fault, lets the send schedules run out, and waits
// until every client is connected, has nothing unacked, agrees with the
// others (and with Redis, where the target reads it) on each room's last
// seq, and no delivery or ack has arrived for convergeQuietWait.
func (r *realCluster) Converge(ctx context.Context, limit time.Duration) (bool, string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	r.stopAbuses()
	if err := r.system.restore(ctx); err != nil {
		return false, "", fmt.Errorf("end the faults: %w", err)
	}
	for _, c := range r.workload {
		c.SetReading(true)
		c.SetOffline(false)
	}
	if err := r.refreshEntry(ctx); err != nil {
		return false, "", err
	}
	schedulesDone := make(chan struct{})
	go func() {
		r.drivers.Wait()
		close(schedulesDone)
	}()
	select {
	case <-schedulesDone:
	case <-ctx.Done():
		return false, "the clients' send schedules did not end", nil
	}
	poll := time.NewTicker(convergePollInterval)
	defer poll.Stop()
	detail := ""
	for {
		if detail = r.lag(ctx); detail == "" {
			r.mu.Lock()
			quiet := time.Since(r.lastTraffic)
			r.mu.Unlock()
			if quiet >= convergeQuietWait {
				return true, "", nil
			}
			detail = "deliveries still arriving"
		}
		select {
		case <-ctx.Done():
			return false, detail, nil
		case <-poll.C:
		}
	}
}

// lag says which client is not settled, or "" when every one is
// connected, has nothing unacked and sits at its rooms' heads.
func (r *realCluster) lag(ctx context.Context) string {
	clients := r.allClients()
	snapshots := make([]client.Snapshot, 0, len(clients))
	var rooms []string
	for _, c := range clients {
		s := c.Snapshot()
		if !s.Connected {
			return fmt.Sprintf("client %s is not connected (%s)", c.Name(), s.State)
		}
		if len(s.Pending) > 0 {
			return fmt.Sprintf("client %s has %d unacked sends", c.Name(), len(s.Pending))
		}
		for _, room := range s.Rooms {
			if !room.Joined {
				return fmt.Sprintf("client %s has not joined room %s again", c.Name(), room.Room)
			}
			if !slices.Contains(rooms, room.Room) {
				rooms = append(rooms, room.Room)
			}
		}
		snapshots = append(snapshots, s)
	}
	sort.Strings(rooms)
	heads, err := r.system.heads(ctx, rooms)
	if err != nil {
		return "cannot read the rooms' heads from Redis: " + err.Error()
	}
	return disagreement(snapshots, heads)
}

// disagreement says which client's room stands apart: behind Redis's head
// in the same epoch, or, without heads, different from the room's other
// members. Rooms without seqs (pubsub) and rooms nobody wrote to are
// skipped.
func disagreement(snapshots []client.Snapshot, heads map[string]roomHead) string {
	type member struct {
		name string
		room client.RoomSnapshot
	}
	first := map[string]member{}
	for _, s := range snapshots {
		for _, room := range s.Rooms {
			if !room.HasSeq {
				continue
			}
			if head, ok := heads[room.Room]; ok && head.Head > 0 {
				if (head.Epoch == "" || room.Epoch == head.Epoch) && room.LastSeq != head.Head {
					return fmt.Sprintf("client %s is at seq %d of room %s, whose head is %d", s.Name, room.LastSeq, room.Room, head.Head)
				}
				if head.Epoch != "" && room.Epoch != head.Epoch {
					return fmt.Sprintf("client %s is in epoch %q of room %s, Redis in %q", s.Name, room.Epoch, room.Room, head.Epoch)
				}
			}
			other, seen := first[room.Room]
			if !seen {
				first[room.Room] = member{name: s.Name, room: room}
				continue
			}
			if other.room.LastSeq != room.LastSeq || other.room.Epoch != room.Epoch {
				return fmt.Sprintf("clients %s and %s disagree on room %s: seq %d (epoch %q) and seq %d (epoch %q)",
					other.name, s.Name, room.Room, other.room.LastSeq, other.room.Epoch, room.LastSeq, room.Epoch)
			}
		}
	}
	return ""
}

// History is every client event so far, in time order (events that
// arrived out of order across clients are sorted by their time, ties kept
// in arrival order).
func (r *realCluster) History() check.History {
	r.mu.Lock()
	history := slices.Clone(r.history)
	r.mu.Unlock()
	sort.SliceStable(history, func(i, j int) bool { return history[i].AtMs < history[j].AtMs })
	return history
}

// Samples are the samples so far, in time order (the sampler's and those
// taken at once, by a fault step or the settling, interleave).
func (r *realCluster) Samples() []Sample {
	r.mu.Lock()
	samples := slices.Clone(r.samples)
	r.mu.Unlock()
	sort.SliceStable(samples, func(i, j int) bool { return samples[i].AtMs < samples[j].AtMs })
	return samples
}

// sampleNow takes one sample at once, besides the sampler's.
func (r *realCluster) sampleNow(ctx context.Context) {
	sample := r.system.sample(ctx)
	r.stampRuntime(&sample)
	r.mu.Lock()
	r.samples = append(r.samples, sample)
	r.mu.Unlock()
}

// sampleEvery samples the system once a second until ctx ends.
func (r *realCluster) sampleEvery(ctx context.Context) {
	defer close(r.samplerDone)
	tick := time.NewTicker(sampleInterval)
	defer tick.Stop()
	for {
		r.sampleNow(ctx)
		r.readDecisions(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// stampRuntime puts a sample on the run's clock: its time, and each
// process's start time, which /metrics gives in Unix time.
func (r *realCluster) stampRuntime(sample *Sample) {
	sample.AtMs = r.Now().Milliseconds()
	for i := range sample.Runtime {
		sample.Runtime[i].AtMs = sample.AtMs
		sample.Runtime[i].StartedMs -= r.startedAt.UnixMilli()
	}
}

// readDecisions takes the balancer's new decisions. A balancer that cannot
// be read now (down, restarting) is read at the next try.
func (r *realCluster) readDecisions(ctx context.Context) {
	addr, err := r.system.balancerAdmin(ctx)
	if err != nil {
		return
	}
	r.decisionsMu.Lock()
	defer r.decisionsMu.Unlock()
	_ = r.decisions.read(ctx, addr)
}

// Decisions reads the balancer's log a last time and returns every
// decision read, on the run's clock.
func (r *realCluster) Decisions() []balance.Decision {
	r.readDecisions(context.Background())
	r.decisionsMu.Lock()
	defer r.decisionsMu.Unlock()
	return slices.Clone(r.decisions.decisions)
}

// TraceHash is empty: a real run does not replay.
func (r *realCluster) TraceHash() string { return "" }

// stopClients ends every client, abusers included: each closes its
// connection.
func (r *realCluster) stopClients() {
	r.stopAbuses()
	if r.clientsStop == nil {
		return
	}
	r.clientsStop()
	stopped := make(chan struct{})
	go func() {
		r.running.Wait()
		r.drivers.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(clientsStopWait):
	}
}

// Settle lets every client go, then waits, sampling as ever, until every
// process's goroutines and open descriptors are back within tolerance of
// its first sample, or settleWaitMax has passed; then each process
// collects its garbage and the settled sample is taken.
func (r *realCluster) Settle(ctx context.Context, tolerance check.LeakTolerance) error {
	r.stopClients()
	leftMs := r.Now().Milliseconds()
	ctx, cancel := context.WithTimeout(ctx, settleWaitMax)
	defer cancel()
	poll := time.NewTicker(sampleInterval)
	defer poll.Stop()
	for !r.settled(tolerance, leftMs) && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-poll.C:
		}
	}
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	addrs := r.system.adminAddrs(context.Background())
	names := make([]string, 0, len(addrs))
	for name := range addrs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		// Twice: what sync.Pool held at the first collection is freed at
		// the second.
		for range 2 {
			if err := collectGarbage(context.Background(), addrs[name]); err != nil {
				return fmt.Errorf("collect %s's garbage: %w", name, err)
			}
		}
	}
	sample := r.system.sample(context.Background())
	r.stampRuntime(&sample)
	for i := range sample.Runtime {
		sample.Runtime[i].Settled = true
	}
	if len(sample.Runtime) == 0 {
		return errors.New("no process answered the settled sample")
	}
	r.mu.Lock()
	r.samples = append(r.samples, sample)
	r.mu.Unlock()
	return nil
}

// settled says whether the latest sample, taken after leftMs, finds each
// process's goroutines and descriptors within tolerance of its first
// sample (the heap is judged after the collection that follows).
func (r *realCluster) settled(tolerance check.LeakTolerance, leftMs int64) bool {
	samples := r.Samples()
	if len(samples) == 0 || samples[len(samples)-1].AtMs <= leftMs {
		return false
	}
	baseline := map[string]check.RuntimeSample{} // each member's latest process's first sample
	for _, p := range check.RuntimeProcesses(runtimeOf(samples)) {
		baseline[p.Member] = p.First
	}
	last := samples[len(samples)-1]
	for _, now := range last.Runtime {
		first := baseline[now.Member]
		if first.StartedMs != now.StartedMs {
			return false
		}
		for _, figure := range tolerance.LeakOver(first, now) {
			if figure != "heap" {
				return false
			}
		}
	}
	return len(last.Runtime) > 0
}

// Stop ends the clients and the sampler and tears the system down.
func (r *realCluster) Stop() error {
	r.stopClients()
	if r.samplerStop != nil {
		r.samplerStop()
		<-r.samplerDone
	}
	r.system.close()
	return nil
}

// readMember adds what the member serving its admin endpoints at addr
// says to sample: its connections (a node's) and its runtime figures. A
// member whose /state does not answer is down; one whose /metrics does not
// answer is left out of the runtime figures.
func readMember(ctx context.Context, sample *Sample, name, addr string) {
	connections, err := connectionsAt(ctx, addr)
	if err != nil {
		sample.Up[name] = false
		return
	}
	if name != scenarios.BalancerName {
		sample.Connections[name] = connections
	}
	if figures, err := readRuntime(ctx, addr, name); err == nil {
		sample.Runtime = append(sample.Runtime, figures)
	}
}

// connectionsAt reads the connection count from the /state of the member
// serving at addr (host:port); a balancer's answer counts none.
func connectionsAt(ctx context.Context, addr string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, sampleStateWait)
	defer cancel()
	var state struct {
		Node struct {
			Connections int `json:"connections"`
		} `json:"node"`
	}
	err := getAdmin(ctx, "http://"+addr+"/state", "", stateBytesMax, func(body io.Reader) error {
		return json.NewDecoder(body).Decode(&state)
	})
	return state.Node.Connections, err
}

// getAdmin GETs url, one of a member's operator endpoints, and hands its
// body, cut at limit bytes, to read; an answer other than 200 is an error.
// accept, when set, is the Accept header. Errors name the url.
func getAdmin(ctx context.Context, url, accept string, limit int64, read func(io.Reader) error) error {
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if accept != "" {
		request.Header.Set("Accept", accept)
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		return err
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, response.Status)
	}
	if err := read(io.LimitReader(response.Body, limit)); err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	return nil
}

// never is a schedule's "no such event".
const never = time.Duration(math.MaxInt64)

// driver is one client's schedule, as the simulator's workload has it:
// Poisson sends from spec.from until spec.stop, each to one of its rooms;
// now and then leaving a room and joining it again realRejoinDelay later;
// now and then dropping the connection. Times are since the run's start.
type driver struct {
	client    *loadgen.Client
	name      string
	rooms     []string
	bodyBytes int
	spec      workloadSpec
	startedAt time.Time
	seed      uint64
}

func (d *driver) run(ctx context.Context) {
	sends := rand.New(rand.NewPCG(d.seed, 1))
	churns := rand.New(rand.NewPCG(d.seed, 2))
	drops := rand.New(rand.NewPCG(d.seed, 3))
	stop := d.spec.stop
	burst := max(d.spec.sendBurst, 1)
	nextSend := after(sends, d.spec.from, d.spec.sendInterval*time.Duration(burst))
	nextChurn := after(churns, d.spec.from, d.spec.churnInterval)
	nextDrop := after(drops, d.spec.from, d.spec.dropInterval)
	rejoinAt, rejoinRoom := never, ""
	sent := 0
	timer := time.NewTimer(never)
	defer timer.Stop()
	for {
		if nextSend >= stop {
			nextSend = never
		}
		if nextChurn != never && nextChurn+realRejoinDelay >= stop {
			nextChurn = never
		}
		if nextDrop >= stop {
			nextDrop = never
		}
		at := min(nextSend, nextChurn, nextDrop, rejoinAt)
		if at == never {
			return
		}
		timer.Reset(time.Until(d.startedAt.Add(at)))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		switch at {
		case rejoinAt:
			d.client.Join(rejoinRoom)
			rejoinAt = never
			nextChurn = after(churns, at, d.spec.churnInterval)
		case nextSend:
			for range burst {
				sent++
				// A full pending queue or a room left for a moment refuses
				// the send; the client records nothing and the schedule
				// moves on, as in the simulator.
				d.client.Send(d.rooms[sends.IntN(len(d.rooms))], body(d.name, sent, d.bodyBytes))
			}
			nextSend = after(sends, at, d.spec.sendInterval*time.Duration(burst))
		case nextChurn:
			rejoinRoom = d.rooms[churns.IntN(len(d.rooms))]
			d.client.Leave(rejoinRoom)
			rejoinAt, nextChurn = at+realRejoinDelay, never
		case nextDrop:
			d.client.Drop()
			nextDrop = after(drops, at, d.spec.dropInterval)
		}
	}
}

// after is the next event of a Poisson stream with this mean interval
// (never for none).
func after(random *rand.Rand, from, mean time.Duration) time.Duration {
	if mean <= 0 {
		return never
	}
	return from + time.Duration(random.ExpFloat64()*float64(mean))
}

// body is a message body as the simulator writes it: the sender and its
// count, padded to size.
func body(name string, count, size int) string {
	text := fmt.Sprintf("%s #%d ", name, count)
	if len(text) < size {
		text += strings.Repeat(".", size-len(text))
	}
	return text
}

// leavingReadInterval is how often Leave reads the nodes' sessions;
// leavingReadPast is how long past the allowed time it goes on reading a
// node that still holds some, to tell how long the ghosts last.
const (
	leavingReadInterval = 100 * time.Millisecond
	leavingReadPast     = 500 * time.Millisecond
)

// Leave lets every client go at once: each closes its socket without a
// close frame, as a client whose process exits does. Then it reads each
// running node's sessions (its /state's connections) until every node
// holds none or within and a while have passed since the last client
// closed its socket.
func (r *realCluster) Leave(ctx context.Context, within time.Duration) (check.Leaving, error) {
	r.stopClients()
	left := r.Now()
	leaving := check.Leaving{LeftMs: left.Milliseconds(), WithinMs: within.Milliseconds()}
	for {
		addrs := r.system.adminAddrs(ctx)
		names := make([]string, 0, len(addrs))
		for name := range addrs {
			if name != scenarios.BalancerName {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		clear := true
		for _, name := range names {
			sessions, err := connectionsAt(ctx, addrs[name])
			if err != nil {
				continue // a node that does not answer is not judged
			}
			leaving.Readings = append(leaving.Readings, check.SessionReading{AtMs: r.Now().Milliseconds(), Node: name, Sessions: sessions})
			clear = clear && sessions == 0
		}
		if clear && len(leaving.Readings) > 0 || r.Now()-left > within+leavingReadPast {
			return leaving, nil
		}
		select {
		case <-ctx.Done():
			return leaving, ctx.Err()
		case <-time.After(leavingReadInterval):
		}
	}
}

// workloadRoom is the workload's name for room i (from 1), as the
// simulator's (sim.RoomName).
func workloadRoom(i int) string { return "room-" + strconv.Itoa(i) }
