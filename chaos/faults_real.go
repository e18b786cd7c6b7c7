package chaos

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"chatlab/chaos/docker"
	"chatlab/chaos/local"
	"chatlab/scenarios"
)

// members is what the faults do to a real target: to its members (the
// nodes, the balancer and Redis, by name) and to its links (a node and
// Redis, the balancer and a node: a-b in either order). chaos/local
// (processes, fault proxies) and chaos/docker (containers, networks)
// implement it with the same meanings; what Docker cannot do its cluster
// answers with a *docker.UnsupportedError, and NewDockerCluster refuses a
// scenario that needs it before anything starts.
type members interface {
	// Kill stops a node or the balancer hard (kill -9); it stays down
	// until StartMember.
	Kill(ctx context.Context, name string) error
	// StartMember starts a killed or stopped member again and returns once
	// it is ready.
	StartMember(ctx context.Context, name string) error
	// Stop stops a node or the balancer gracefully (SIGTERM: a node drains,
	// then exits) and returns once it has exited.
	Stop(ctx context.Context, name string) error
	// Pause freezes a node, the balancer or Redis: its connections stay
	// open, nothing is processed. Resume ends it.
	Pause(ctx context.Context, name string) error
	Resume(ctx context.Context, name string) error
	// Drain takes a node out of the balancer's rotation; Undrain puts it
	// back.
	Drain(ctx context.Context, node string) error
	Undrain(ctx context.Context, node string) error
	// Partition cuts the link a-b (both ways, or only a to b, or b to a);
	// Heal ends every fault on it, HealAll on every link.
	Partition(ctx context.Context, a, b string, direction scenarios.Direction) error
	Heal(ctx context.Context, a, b string) error
	HealAll(ctx context.Context) error
	// Delay adds latency ± jitter to the link a-b (0, 0: none again).
	Delay(ctx context.Context, a, b string, latency, jitter time.Duration) error
	// Loss cuts connections on the link a-b with this chance per chunk
	// (0: none again).
	Loss(ctx context.Context, a, b string, percent int) error
	// StopRedis takes Redis down hard; persist says whether its data is
	// there when StartRedis brings it back.
	StopRedis(ctx context.Context, persist bool) error
	StartRedis(ctx context.Context) error
	// KillPubSub closes every pub/sub connection at Redis once;
	// RefusePubSub goes on closing them until AdmitPubSub.
	KillPubSub(ctx context.Context) error
	RefusePubSub(ctx context.Context) error
	AdmitPubSub(ctx context.Context) error
	// DropPubSub loses percent of the pub/sub messages Redis pushes to
	// node (redis: every node) while the connections stay up; 0 ends it.
	DropPubSub(ctx context.Context, node string, percent float64) error
	// FailoverRedis, on a Redis Cluster, has the replicas of the master
	// owning room's slot fall lag behind, kills that master and lets a
	// replica take over; RestartRedisMasters starts the killed masters
	// again, as replicas.
	FailoverRedis(ctx context.Context, room string, lag time.Duration) error
	RestartRedisMasters(ctx context.Context) error
	// ReshardRedis, on a Redis Cluster, moves the slot of room, with its
	// keys, from its master to the next one (MIGRATING, IMPORTING,
	// MIGRATE, SETSLOT NODE) and returns once every server agrees.
	ReshardRedis(ctx context.Context, room string) error
}

var (
	_ members = (*local.Cluster)(nil)
	_ members = (*docker.Cluster)(nil)
)

// faults carries out a scenario's faults on a real target's members, as
// the simulator's target maps them to simulated faults, and keeps which
// members are down or frozen for the sampler. Both real targets embed it.
type faults struct {
	target  string
	members members // set once the target started

	// calls serializes fault steps and restore; a caller that must not
	// wait for one (a sampler) uses TryLock.
	calls sync.Mutex
	// mu guards down and paused, which the sampler reads while a fault is
	// applied.
	mu sync.Mutex
	// down holds members taken down (killed, drained, Redis stopped).
	down map[string]bool
	// paused holds members frozen by a pause.
	paused map[string]bool
}

func newFaults(target string) faults {
	return faults{target: target, down: map[string]bool{}, paused: map[string]bool{}}
}

// fault carries out one step.
func (s *faults) fault(ctx context.Context, step Step) error {
	s.calls.Lock()
	defer s.calls.Unlock()
	f := step.Fault
	a, b := f.Link[0], f.Link[1]
	m := s.members
	if step.End {
		switch f.Action {
		case scenarios.Kill, scenarios.Restart, scenarios.BalancerRestart:
			return s.start(ctx, memberOf(f))
		case scenarios.RedisRestart:
			return s.startRedis(ctx)
		case scenarios.RedisFailover:
			return m.RestartRedisMasters(ctx)
		case scenarios.Drain:
			// A drained node comes back as a new process, in rotation again.
			if err := s.start(ctx, f.Target); err != nil {
				return err
			}
			return m.Undrain(ctx, f.Target)
		case scenarios.Pause:
			return s.pause(ctx, f.Target, false)
		case scenarios.Partition:
			return m.Heal(ctx, a, b)
		case scenarios.Delay:
			return m.Delay(ctx, a, b, 0, 0)
		case scenarios.Loss:
			return m.Loss(ctx, a, b, 0)
		case scenarios.PubSubKill:
			return m.AdmitPubSub(ctx)
		case scenarios.PubSubDrop:
			return m.DropPubSub(ctx, f.Target, 0)
		}
		return nil
	}
	switch f.Action {
	case scenarios.Kill:
		return s.kill(ctx, f.Target)
	case scenarios.Restart, scenarios.BalancerRestart:
		if err := s.kill(ctx, memberOf(f)); err != nil || f.Duration > 0 {
			return err
		}
		return s.start(ctx, memberOf(f))
	case scenarios.RedisRestart:
		s.set(s.down, scenarios.RedisName, true)
		if err := m.StopRedis(ctx, f.Persist); err != nil || f.Duration > 0 {
			return err
		}
		return s.startRedis(ctx)
	case scenarios.RedisFailover:
		return m.FailoverRedis(ctx, workloadRoom(f.Room), f.Lag)
	case scenarios.RedisReshard:
		return m.ReshardRedis(ctx, workloadRoom(f.Room))
	case scenarios.Pause:
		return s.pause(ctx, f.Target, true)
	case scenarios.Resume:
		return s.pause(ctx, f.Target, false)
	case scenarios.Drain:
		if err := m.Drain(ctx, f.Target); err != nil {
			return err
		}
		s.set(s.down, f.Target, true)
		return m.Stop(ctx, f.Target)
	case scenarios.Partition:
		return m.Partition(ctx, a, b, f.Direction)
	case scenarios.Heal:
		if f.Target == "" {
			return m.HealAll(ctx)
		}
		return m.Heal(ctx, a, b)
	case scenarios.Delay:
		return m.Delay(ctx, a, b, f.Latency, f.Jitter)
	case scenarios.Loss:
		return m.Loss(ctx, a, b, int(math.Round(f.Percent)))
	case scenarios.PubSubKill:
		if f.Duration > 0 {
			return m.RefusePubSub(ctx)
		}
		if s.isDown(scenarios.RedisName) {
			return nil // no pub/sub connection to kill
		}
		return m.KillPubSub(ctx)
	case scenarios.PubSubDrop:
		return m.DropPubSub(ctx, f.Target, f.Percent)
	}
	return fmt.Errorf("%s: no fault %q", s.target, f.Action)
}

// restore heals every link, resumes every frozen member, and starts Redis
// and the balancer if they are down; a killed node stays down, as in the
// simulator.
func (s *faults) restore(ctx context.Context) error {
	s.calls.Lock()
	defer s.calls.Unlock()
	errs := []error{s.members.HealAll(ctx)}
	s.mu.Lock()
	var frozen []string
	for name, paused := range s.paused {
		if paused {
			frozen = append(frozen, name)
		}
	}
	s.mu.Unlock()
	slices.Sort(frozen)
	for _, name := range frozen {
		errs = append(errs, s.pause(ctx, name, false))
	}
	errs = append(errs, s.startRedis(ctx), s.start(ctx, scenarios.BalancerName))
	return errors.Join(errs...)
}

// memberOf is the process a fault acts on.
func memberOf(f scenarios.Fault) string {
	if f.Action == scenarios.BalancerRestart {
		return scenarios.BalancerName
	}
	return f.Target
}

func (s *faults) kill(ctx context.Context, name string) error {
	if s.isDown(name) {
		return nil
	}
	s.set(s.down, name, true)
	return s.members.Kill(ctx, name)
}

// start starts a member taken down again (a running one is left alone).
func (s *faults) start(ctx context.Context, name string) error {
	if !s.isDown(name) {
		return nil
	}
	if err := s.members.StartMember(ctx, name); err != nil {
		return err
	}
	s.set(s.down, name, false)
	return nil
}

func (s *faults) startRedis(ctx context.Context) error {
	if !s.isDown(scenarios.RedisName) {
		return nil
	}
	if err := s.members.StartRedis(ctx); err != nil {
		return err
	}
	s.set(s.down, scenarios.RedisName, false)
	return nil
}

func (s *faults) pause(ctx context.Context, name string, on bool) error {
	if s.is(s.paused, name) == on {
		return nil
	}
	var err error
	if on {
		err = s.members.Pause(ctx, name)
	} else {
		err = s.members.Resume(ctx, name)
	}
	if err == nil {
		s.set(s.paused, name, on)
	}
	return err
}

func (s *faults) set(states map[string]bool, name string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	states[name] = on
}

func (s *faults) is(states map[string]bool, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return states[name]
}

func (s *faults) isDown(name string) bool { return s.is(s.down, name) }

// running says whether a member is neither down nor frozen.
func (s *faults) running(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.down[name] && !s.paused[name]
}
