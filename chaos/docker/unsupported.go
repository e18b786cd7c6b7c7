package docker

import (
	"context"
	"fmt"
	"time"

	"chatlab/scenarios"
)

// UnsupportedError is the answer of a fault Docker cannot make; its text
// says what the docker target does instead or lacks.
type UnsupportedError struct{ Why string }

func (e *UnsupportedError) Error() string { return e.Why }

// Unsupported says why the docker target cannot carry out f (nil when it
// can, as far as the containers go): the same words its methods answer
// with, so that a scenario is refused before anything starts.
func Unsupported(f scenarios.Fault) error {
	switch {
	case f.Action == scenarios.Partition && f.Direction != scenarios.Both && f.Direction != "":
		return errOneWay(f.Direction)
	case f.Action == scenarios.Delay || f.Action == scenarios.Loss:
		return errNoShaping(f.Action)
	case f.Action == scenarios.PubSubKill && f.Duration > 0:
		return errNoRefusal
	case f.Action.NeedsRedisCluster():
		return errNoFailover
	case f.Action == scenarios.PubSubDrop:
		return errNoPushDrop
	}
	return nil
}

func errOneWay(direction scenarios.Direction) error {
	return &UnsupportedError{fmt.Sprintf("the docker target cuts links both ways only (network disconnect), not direction %q", direction)}
}

func errNoShaping(action scenarios.Action) error {
	return &UnsupportedError{fmt.Sprintf("the docker target has no %s on a link (its scratch containers have no traffic shaping)", action)}
}

var (
	errNoRefusal  = &UnsupportedError{"the docker target kills the pub/sub connections once, not for a duration"}
	errNoFailover = &UnsupportedError{"the docker target runs one Redis, not a Redis Cluster to fail over, partition or reshard"}
	errNoPushDrop = &UnsupportedError{"the docker target has no proxy between the nodes and Redis to drop pub/sub messages from (the local target's fault proxies do)"}
)

// Delay is unsupported: the scratch containers have no traffic shaping.
func (c *Cluster) Delay(context.Context, string, string, time.Duration, time.Duration) error {
	return errNoShaping(scenarios.Delay)
}

// Loss is unsupported: the scratch containers have no traffic shaping.
func (c *Cluster) Loss(context.Context, string, string, int) error {
	return errNoShaping(scenarios.Loss)
}

// RefusePubSub is unsupported: KillPubSub kills the pub/sub connections
// once.
func (c *Cluster) RefusePubSub(context.Context) error { return errNoRefusal }

// AdmitPubSub has nothing to end: no refusal is ever in force.
func (c *Cluster) AdmitPubSub(context.Context) error { return nil }

// DropPubSub is unsupported: the nodes reach Redis over a Docker network,
// with nothing in between to leave messages out.
func (c *Cluster) DropPubSub(context.Context, string, float64) error { return errNoPushDrop }

// FailoverRedis is unsupported: the docker target runs one Redis.
func (c *Cluster) FailoverRedis(context.Context, string, time.Duration) error { return errNoFailover }

// ReshardRedis is unsupported: the docker target runs one Redis.
func (c *Cluster) ReshardRedis(context.Context, string) error { return errNoFailover }

// RestartRedisMasters has nothing to restart: no failover ever ran.
func (c *Cluster) RestartRedisMasters(context.Context) error { return nil }
