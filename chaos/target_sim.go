package chaos

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"chatlab/chaos/check"
	"chatlab/scenarios"
	"chatlab/sim"
	"chatlab/system/balance"
	"chatlab/system/client"
	"chatlab/system/node"
)

// Simulated network defaults: a LAN with a little jitter.
const (
	simLatencyDefault = 2 * time.Millisecond
	simJitterDefault  = time.Millisecond
	// simWarmup is how long clients have to connect and join before they
	// start sending.
	simWarmup = time.Second
	// floodPendingSendsMax keeps a flooding client's backlog small, so that
	// its refused sends are counted as refused rather than queued for
	// minutes.
	floodPendingSendsMax = 16
	// roomsPerClient is how many of the scenario's rooms each client joins.
	roomsPerClient = 2
)

// FloodClientPrefix starts the name of every flooding client, on every
// target: their own backlog is left out of the latency figures.
const FloodClientPrefix = "flood"

// ListenerClientPrefix starts the name of every listening client (members
// that never send), on every target.
const ListenerClientPrefix = "listen"

// SimOptions are the knobs of a simulated run besides the scenario.
type SimOptions struct {
	Seed     uint64
	Delivery node.Delivery
	Mutation node.Mutation
	// BalanceMutation breaks the balancer on purpose (tests of the
	// balancer check).
	BalanceMutation balance.Mutation
	// KeepTrace keeps every event's trace line (memory) besides the hash.
	KeepTrace bool
	// RedisCluster runs the scenario on the simulator's Redis Cluster even
	// if its topology names one Redis (--redis cluster).
	RedisCluster bool
}

// simCluster runs a scenario in the deterministic simulator.
type simCluster struct {
	scenario *scenarios.Scenario
	options  SimOptions
	cluster  *sim.Cluster
	// workload are the scenario's ordinary clients, in creation order;
	// slow-consumer faults pick from the front.
	workload []*sim.ClientHost
	link     sim.LinkSpec
}

// NewSimCluster prepares a simulated run of scenario.
func NewSimCluster(scenario *scenarios.Scenario, options SimOptions) Cluster {
	return &simCluster{scenario: scenario, options: options,
		link: sim.LinkSpec{Latency: simLatencyDefault, Jitter: simJitterDefault}}
}

func (s *simCluster) Target() string { return "sim" }

// SimRefusal says why the simulator will not run scenario with options
// (a refusal), or nil; Run asks too.
func SimRefusal(scenario *scenarios.Scenario, options SimOptions) error {
	return (&simCluster{scenario: scenario, options: options}).refusal()
}

func (s *simCluster) onRedisCluster() bool {
	return s.scenario.Topology.Redis == scenarios.RedisCluster || s.options.RedisCluster
}

// refusal says why the simulator will not run the scenario as asked, if
// it will not: on a Redis Cluster, a fault that acts on the one Redis.
func (s *simCluster) refusal() error {
	if s.onRedisCluster() {
		return singleRedisFault(s.scenario)
	}
	return nil
}

func (s *simCluster) Mutation() node.Mutation { return s.options.Mutation }

func (s *simCluster) Start(context.Context) error {
	sc := s.scenario
	delivery := sc.Topology.Delivery
	if s.options.Delivery != "" {
		delivery = s.options.Delivery
	}
	topology := sim.Topology{
		Nodes:    sc.Topology.Nodes,
		Delivery: delivery,
		Balance:  balance.Config{Policy: sc.Topology.Policy, Mutation: s.options.BalanceMutation},
		Node: node.Config{Mutation: s.options.Mutation, RecentLenMax: sc.Topology.RecentLenMax,
			RoomPollIntervalMs: sc.Topology.RoomPollInterval.Milliseconds()},
		RedisStreamLenMax: sc.Topology.HistoryLenMax,
		Redis:             sim.RedisSpec{PubSubBreakEvery: sc.Topology.PubSubBreakEvery},
		Link:              s.link,
		RedisPersistence:  sc.Topology.RedisPersistence == scenarios.PersistenceAOF,
		PongWait:          sc.Topology.PongWait,
		KeepTrace:         s.options.KeepTrace,
	}
	if s.onRedisCluster() {
		topology.RedisCluster = &sim.RedisClusterSpec{ReplicasAck: sc.Topology.RedisReplicasAck,
			EpochFence: sc.Topology.RedisEpochFence}
	}
	s.cluster = sim.NewCluster(topology, s.options.Seed)
	workload := sc.Workload
	s.workload = s.cluster.AddWorkload(sim.Workload{
		Clients:           workload.Clients,
		Rooms:             workload.Rooms,
		RoomsPerClient:    roomsPerClient,
		Warmup:            simWarmup,
		Stop:              workload.Duration,
		SendInterval:      interval(float64(workload.SendRatePerClient)),
		BodyBytes:         workload.MessageBytes,
		JoinLeaveInterval: interval(float64(workload.JoinLeave)),
		ReconnectInterval: interval(float64(workload.Reconnects)),
		SendBurst:         workload.SendBurst,
	})
	if workload.Listeners > 0 {
		s.cluster.AddWorkload(sim.Workload{Clients: workload.Listeners, Prefix: ListenerClientPrefix, Rooms: workload.Rooms,
			RoomsPerClient: roomsPerClient, Warmup: simWarmup, Stop: workload.Duration, ListenOnly: true})
	}
	for i, f := range sc.Faults {
		stop := workload.Duration
		if f.Duration > 0 {
			stop = min(f.End(), stop)
		}
		if kind, ok := simAbuses[f.Action]; ok {
			abuse := sim.Abuse{Kind: kind, Name: AbuserName(i), Clients: f.Clients, Interval: interval(float64(f.Rate)),
				Start: f.At, Stop: stop}
			if f.Target != scenarios.BalancerName {
				abuse.Node = f.Target
			}
			if err := s.cluster.AddAbuse(abuse); err != nil {
				return err
			}
			continue
		}
		if f.Action != scenarios.Flood {
			continue
		}
		floodClient := client.Config{PendingSendsMax: floodPendingSendsMax}
		s.cluster.AddWorkload(sim.Workload{
			Clients: f.Clients, Prefix: FloodClientPrefix + strconv.Itoa(i+1) + "-", Rooms: workload.Rooms, RoomsPerClient: 1,
			Start: f.At, Warmup: time.Millisecond, Stop: stop, SendInterval: interval(float64(f.FloodSendRate)),
			BodyBytes: workload.MessageBytes, Client: &floodClient,
		})
	}
	return nil
}

// singleRedisFault refuses, on a Redis Cluster, a fault that acts on the
// one Redis (a restart, a pub/sub kill, a link to it): the cluster has no
// one Redis, as on the local target.
func singleRedisFault(sc *scenarios.Scenario) error {
	for _, f := range sc.Faults {
		if f.Action == scenarios.RedisRestart || f.Action == scenarios.PubSubKill || f.Action == scenarios.PubSubDrop ||
			slices.Contains(f.Link[:], sim.RedisName) {
			return Refused("scenario %s: fault %s acts on the one Redis, which a Redis Cluster does not have", sc.Name, f.Action)
		}
	}
	return nil
}

// simAbuses are the scenario's abuses the simulator's abusers carry out.
var simAbuses = map[scenarios.Action]sim.AbuseKind{scenarios.JoinFlood: sim.AbuseJoinFlood, scenarios.Garbage: sim.AbuseGarbage,
	scenarios.ConnFlood: sim.AbuseConnFlood, scenarios.UpgradeAborts: sim.AbuseUpgradeAborts}

// AbuserPrefix starts the name (user and host) of every abusing client of
// a join or connection flood, aborted upgrades or garbage, on every
// target. Abusers record no history.
const AbuserPrefix = "abuse"

// AbuserName names the abuser of the scenario's fault at index i.
func AbuserName(i int) string { return AbuserPrefix + strconv.Itoa(i+1) }

// interval turns a per-second rate into a mean interval (0 for no rate).
func interval(perSecond float64) time.Duration {
	if perSecond <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / perSecond)
}

func (s *simCluster) RunUntil(_ context.Context, t time.Duration) error {
	s.cluster.RunUntil(t)
	return nil
}

func (s *simCluster) Now() time.Duration { return s.cluster.Now() }

// Apply turns a timeline step into the simulator's faults.
func (s *simCluster) Apply(_ context.Context, step Step) error {
	for _, fault := range s.faults(step) {
		if err := s.cluster.At(s.cluster.Now(), fault); err != nil {
			return err
		}
	}
	return nil
}

func (s *simCluster) faults(step Step) []sim.Fault {
	f := step.Fault
	a, b := f.Link[0], f.Link[1]
	if step.End {
		switch f.Action {
		case scenarios.Kill, scenarios.Restart, scenarios.BalancerRestart:
			return []sim.Fault{{Action: sim.Restart, Target: s.hostOf(f)}}
		case scenarios.RedisRestart:
			return []sim.Fault{{Action: sim.Restart, Target: sim.RedisName}}
		case scenarios.RedisFailover:
			return []sim.Fault{{Action: sim.RestartRedisServers, Target: sim.RedisName}}
		case scenarios.RedisShardPartition:
			return []sim.Fault{{Action: sim.HealRedisShards}}
		case scenarios.Drain:
			// A drained node goes away and comes back as a new process.
			return []sim.Fault{{Action: sim.Crash, Target: f.Target}, {Action: sim.Restart, Target: f.Target},
				{Action: sim.Undrain, Target: f.Target}}
		case scenarios.Pause:
			return []sim.Fault{{Action: sim.Resume, Target: f.Target}}
		case scenarios.Partition:
			return []sim.Fault{{Action: sim.Heal, Target: a, Peer: b}}
		case scenarios.Delay, scenarios.Loss:
			return []sim.Fault{{Action: sim.SetLink, Target: a, Peer: b, Link: s.link}}
		case scenarios.SlowConsumer:
			return s.reading(f.Clients, sim.ResumeReading)
		case scenarios.Away:
			return s.clientFaults(awayClients(s.workload, f.Clients), sim.GoOnline)
		case scenarios.PubSubKill:
			return []sim.Fault{{Action: sim.AdmitPubSub, Target: sim.RedisName}}
		case scenarios.PubSubDrop:
			return []sim.Fault{{Action: sim.DropPubSub, Target: f.Target}}
		}
		return nil
	}
	switch f.Action {
	case scenarios.Kill:
		return []sim.Fault{{Action: sim.Crash, Target: f.Target}}
	case scenarios.Restart:
		if f.Duration > 0 {
			return []sim.Fault{{Action: sim.Crash, Target: f.Target}}
		}
		return []sim.Fault{{Action: sim.Restart, Target: f.Target}}
	case scenarios.BalancerRestart:
		return []sim.Fault{{Action: sim.Crash, Target: sim.BalancerName}}
	case scenarios.RedisRestart:
		return []sim.Fault{{Action: sim.Crash, Target: sim.RedisName, KeepData: f.Persist}}
	case scenarios.RedisFailover:
		return []sim.Fault{{Action: sim.RedisFailover, Target: workloadRoom(f.Room), Lag: f.Lag}}
	case scenarios.RedisShardPartition:
		return []sim.Fault{{Action: sim.RedisShardPartition, Target: workloadRoom(f.Room)}}
	case scenarios.RedisReshard:
		return []sim.Fault{{Action: sim.RedisReshard, Target: workloadRoom(f.Room)}}
	case scenarios.Pause:
		return []sim.Fault{{Action: sim.Pause, Target: f.Target}}
	case scenarios.Resume:
		return []sim.Fault{{Action: sim.Resume, Target: f.Target}}
	case scenarios.Drain:
		return []sim.Fault{{Action: sim.Drain, Target: f.Target}}
	case scenarios.Partition:
		switch f.Direction {
		case scenarios.To:
			return []sim.Fault{{Action: sim.Partition, Target: a, Peer: b, OneWay: true}}
		case scenarios.From:
			return []sim.Fault{{Action: sim.Partition, Target: b, Peer: a, OneWay: true}}
		}
		return []sim.Fault{{Action: sim.Partition, Target: a, Peer: b}}
	case scenarios.Heal:
		if f.Target == "" {
			return []sim.Fault{{Action: sim.Heal}}
		}
		return []sim.Fault{{Action: sim.Heal, Target: a, Peer: b}}
	case scenarios.Delay:
		link := s.link
		link.Latency, link.Jitter = f.Latency, f.Jitter
		return []sim.Fault{{Action: sim.SetLink, Target: a, Peer: b, Link: link}}
	case scenarios.Loss:
		link := s.link
		link.LossPercent = int(math.Round(f.Percent))
		return []sim.Fault{{Action: sim.SetLink, Target: a, Peer: b, Link: link}}
	case scenarios.SlowConsumer:
		return s.reading(f.Clients, sim.StopReading)
	case scenarios.Away:
		return s.clientFaults(awayClients(s.workload, f.Clients), sim.GoOffline)
	case scenarios.PubSubKill:
		if f.Duration > 0 {
			return []sim.Fault{{Action: sim.RefusePubSub, Target: sim.RedisName}}
		}
		return []sim.Fault{{Action: sim.KillPubSub, Target: sim.RedisName}}
	case scenarios.PubSubDrop:
		return []sim.Fault{{Action: sim.DropPubSub, Target: f.Target, Percent: f.Percent}}
	}
	return nil // a flood's clients were scheduled at Start
}

func (s *simCluster) hostOf(f scenarios.Fault) string {
	if f.Action == scenarios.BalancerRestart {
		return sim.BalancerName
	}
	return f.Target
}

func (s *simCluster) reading(count int, action sim.Action) []sim.Fault {
	return s.clientFaults(s.workload[:min(count, len(s.workload))], action)
}

func (s *simCluster) clientFaults(clients []*sim.ClientHost, action sim.Action) []sim.Fault {
	faults := make([]sim.Fault, 0, len(clients))
	for _, h := range clients {
		faults = append(faults, sim.Fault{Action: action, Target: h.Name()})
	}
	return faults
}

// awayClients are the clients an away fault takes off the network: the
// workload's last, so that slow consumers (its first) stay apart.
func awayClients[C any](workload []C, count int) []C {
	return workload[len(workload)-min(count, len(workload)):]
}

// Converge heals every partition and link, resumes paused processes and
// readers, starts Redis and the balancer if they are down, and runs until
// the clients are quiet and caught up, or until limit.
func (s *simCluster) Converge(_ context.Context, limit time.Duration) (bool, string, error) {
	now := s.cluster.Now()
	s.cluster.Apply(sim.Fault{Action: sim.Heal})
	snapshot := s.cluster.Snapshot()
	for _, n := range snapshot.Nodes {
		if n.Paused {
			s.cluster.Apply(sim.Fault{Action: sim.Resume, Target: n.Name})
		}
	}
	if snapshot.Redis.Paused {
		s.cluster.Apply(sim.Fault{Action: sim.Resume, Target: sim.RedisName})
	}
	if !snapshot.Redis.Up {
		s.cluster.Apply(sim.Fault{Action: sim.Restart, Target: sim.RedisName})
	}
	if b := snapshot.Balancer; b != nil {
		if b.Paused {
			s.cluster.Apply(sim.Fault{Action: sim.Resume, Target: sim.BalancerName})
		}
		if !b.Up {
			s.cluster.Apply(sim.Fault{Action: sim.Restart, Target: sim.BalancerName})
		}
	}
	for _, h := range s.cluster.Clients() {
		h.SetReading(true)
		h.SetOffline(false)
	}
	quiet := s.cluster.RunUntilQuiet(now + limit)
	detail := caughtUp(s.cluster.Snapshot())
	if !quiet && detail == "" {
		detail = "clients still busy (unacked sends or traffic) at the limit"
	}
	return quiet && detail == "", detail, nil
}

// caughtUp says which client lags which room's head, or "" when every
// joined room of every client is at Redis's head.
func caughtUp(snapshot sim.Snapshot) string {
	heads := map[string]sim.RedisRoom{}
	for _, r := range snapshot.Redis.Rooms {
		heads[r.Room] = r
	}
	for _, c := range snapshot.Clients {
		if !c.Connected {
			return fmt.Sprintf("client %s is not connected (%s)", c.Name, c.State)
		}
		if len(c.Pending) > 0 {
			return fmt.Sprintf("client %s has %d unacked sends", c.Name, len(c.Pending))
		}
		for _, r := range c.Rooms {
			head, ok := heads[r.Room]
			if !r.HasSeq || !ok || head.Head == 0 {
				continue // pubsub mode, or a room nobody wrote to
			}
			if r.Epoch == head.Epoch && r.LastSeq != head.Head {
				return fmt.Sprintf("client %s is at seq %d of room %s, whose head is %d", c.Name, r.LastSeq, r.Room, head.Head)
			}
		}
	}
	return ""
}

func (s *simCluster) History() check.History {
	events := s.cluster.History()
	history := make(check.History, len(events))
	for i, e := range events {
		history[i] = check.Record{Client: e.Client, Event: e.Event}
	}
	return history
}

func (s *simCluster) Samples() []Sample {
	snapshots := s.cluster.Snapshots()
	samples := make([]Sample, 0, len(snapshots))
	for _, snapshot := range snapshots {
		sample := Sample{AtMs: snapshot.At.Milliseconds(), Connections: map[string]int{}, Up: map[string]bool{}}
		for _, n := range snapshot.Nodes {
			sample.Up[n.Name] = n.Up && !n.Paused
			if n.Node != nil {
				sample.Connections[n.Name] = n.Node.Connections
			}
		}
		sample.Up[sim.RedisName] = snapshot.Redis.Up && !snapshot.Redis.Paused
		if b := snapshot.Balancer; b != nil {
			sample.Up[sim.BalancerName] = b.Up && !b.Paused
		}
		samples = append(samples, sample)
	}
	return samples
}

func (s *simCluster) Decisions() []balance.Decision { return s.cluster.Decisions() }

func (s *simCluster) TraceHash() string { return fmt.Sprintf("%016x", s.cluster.TraceHash()) }

func (s *simCluster) Stop() error { return nil }

// Sim exposes the simulated cluster (for the dashboard feed and tests).
func (s *simCluster) Sim() *sim.Cluster { return s.cluster }

// Leave takes every workload client off the network at once (its
// connection resets, as a phone's does when it loses its signal) and
// reads each running node's sessions every leavingReadInterval of virtual
// time until every node holds none or within and a while have passed.
func (s *simCluster) Leave(_ context.Context, within time.Duration) (check.Leaving, error) {
	for _, h := range s.cluster.Clients() {
		h.SetOffline(true)
	}
	left := s.cluster.Now()
	leaving := check.Leaving{LeftMs: left.Milliseconds(), WithinMs: within.Milliseconds()}
	for at := left; ; at += leavingReadInterval {
		s.cluster.RunUntil(at)
		clear := true
		for _, n := range s.cluster.Snapshot().Nodes {
			if n.Node == nil || !n.Up || n.Paused {
				continue
			}
			leaving.Readings = append(leaving.Readings, check.SessionReading{AtMs: at.Milliseconds(), Node: n.Name, Sessions: n.Node.Connections})
			clear = clear && n.Node.Connections == 0
		}
		if clear && len(leaving.Readings) > 0 || at-left > within+leavingReadPast {
			return leaving, nil
		}
	}
}
