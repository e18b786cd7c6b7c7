package scenarios

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Names of the members besides the nodes, as fault targets and link ends
// name them; the real targets (chaos/local, chaos/docker) and the chaos
// runner use these.
const (
	RedisName    = "redis"
	BalancerName = "balancer"
)

// floodSendRateDefault is a flooding client's send rate when the file does
// not say: well above any node's per-connection rate limit, so the limit
// is what gets tested.
const floodSendRateDefault Rate = 50

// abuseRateDefaults are each abuse's rate when the file does not say: a
// join/leave or garbage flood at 2000 frames a second per connection
// (twenty times a node's frame allowance), a connection flood at 1000 new
// connections a second (five times the balancer's whole allowance), one
// burst of aborted upgrades a second.
var abuseRateDefaults = map[Action]Rate{JoinFlood: 2000, Garbage: 2000, ConnFlood: 1000, UpgradeAborts: 1}

// abuseRateMax bounds an abuse's rate.
const abuseRateMax Rate = 100_000

// targetKinds is a set of what an action may act on.
type targetKinds uint8

const (
	targetNode targetKinds = 1 << iota
	targetRedis
	targetBalancer
	targetLink
	// targetNone: the target may be left out.
	targetNone
)

// actionSpec is what an action accepts: its targets, its keys beyond at,
// action and target, and which of those are required.
type actionSpec struct {
	targets  targetKinds
	keys     []string
	required []string
	// targetsText says what targets mean, for messages.
	targetsText string
}

var actionSpecs = map[Action]actionSpec{
	Kill:                {targetNode, []string{"duration"}, nil, "a node"},
	Restart:             {targetNode, []string{"duration"}, nil, "a node"},
	Pause:               {targetNode | targetRedis | targetBalancer, []string{"duration"}, nil, "a node, redis or balancer"},
	Resume:              {targetNode | targetRedis | targetBalancer, nil, nil, "a node, redis or balancer"},
	Drain:               {targetNode, []string{"duration"}, nil, "a node"},
	Partition:           {targetLink, []string{"direction", "duration"}, nil, "a link such as n1-redis or balancer-n1"},
	Heal:                {targetLink | targetNone, nil, nil, "a link such as n1-redis, or nothing to heal every partition"},
	RedisRestart:        {targetRedis | targetNone, []string{"persist", "duration"}, nil, "redis (or nothing)"},
	Delay:               {targetLink, []string{"latency", "jitter", "duration"}, []string{"latency"}, "a link such as n1-redis or balancer-n1"},
	Loss:                {targetLink, []string{"percent", "duration"}, []string{"percent"}, "a link such as n1-redis or balancer-n1"},
	Flood:               {targetBalancer | targetNode | targetNone, []string{"clients", "send_rate", "duration"}, []string{"clients"}, "balancer or a node (default balancer)"},
	SlowConsumer:        {targetNone, []string{"clients", "duration"}, []string{"clients"}, "nothing: the workload's first clients slow down"},
	BalancerRestart:     {targetBalancer | targetNone, []string{"duration"}, nil, "balancer (or nothing)"},
	Away:                {targetNone, []string{"clients", "duration"}, []string{"clients", "duration"}, "nothing: the workload's last clients go away"},
	JoinFlood:           {targetBalancer | targetNode | targetNone, []string{"clients", "rate", "duration"}, []string{"clients"}, "balancer or a node (default balancer)"},
	ConnFlood:           {targetBalancer | targetNode | targetNone, []string{"clients", "rate", "duration"}, []string{"clients"}, "balancer or a node (default balancer)"},
	UpgradeAborts:       {targetBalancer | targetNone, []string{"clients", "rate", "duration"}, []string{"clients"}, "balancer (or nothing)"},
	Garbage:             {targetBalancer | targetNode | targetNone, []string{"clients", "rate", "duration"}, []string{"clients"}, "balancer or a node (default balancer)"},
	PubSubKill:          {targetRedis | targetNone, []string{"duration"}, nil, "redis (or nothing): every node's pub/sub connection"},
	RedisFailover:       {targetNone, []string{"room", "lag", "duration"}, nil, "nothing: room names the shard"},
	PubSubDrop:          {targetNode | targetRedis | targetNone, []string{"percent", "duration"}, []string{"percent"}, "a node, or redis (or nothing) for every node"},
	RedisShardPartition: {targetNone, []string{"room", "duration"}, []string{"duration"}, "nothing: room names the shard"},
	RedisReshard:        {targetNone, []string{"room"}, nil, "nothing: room names the slot"},
}

var (
	faultKeys   = []string{"at", "action", "target", "direction", "persist", "latency", "jitter", "percent", "clients", "send_rate", "rate", "room", "lag", "duration"}
	actionNames = func() []string {
		names := make([]string, 0, len(actionSpecs))
		for action := range actionSpecs {
			names = append(names, string(action))
		}
		slices.Sort(names)
		return names
	}()
	directions = []string{string(Both), string(To), string(From)}
)

// faults reads the fault timeline, in time order, within the workload's
// duration, each fault's target known and fit for its action.
func (p *parser) faults(tree *yaml.Node, topology Topology, workload Workload) ([]Fault, error) {
	items, err := p.list(tree, "faults", faultsMax)
	if err != nil {
		return nil, err
	}
	faults := make([]Fault, 0, len(items))
	for i, item := range items {
		what := fmt.Sprintf("fault %d", i+1)
		fault, err := p.fault(item, what, topology, workload)
		if err != nil {
			return nil, err
		}
		if i > 0 && fault.At < faults[i-1].At {
			return nil, p.errorf(item, "%s at %s comes before the previous one at %s; list faults in time order", what, fault.At, faults[i-1].At)
		}
		faults = append(faults, fault)
	}
	if err := p.timeline(items, faults); err != nil {
		return nil, err
	}
	return faults, nil
}

func (p *parser) fault(item *yaml.Node, what string, topology Topology, workload Workload) (Fault, error) {
	var fault Fault
	f, err := p.mapping(item, what, faultKeys)
	if err != nil {
		return fault, err
	}
	if err := p.require(f, what, "at", "when it happens, e.g. 10s"); err != nil {
		return fault, err
	}
	if err := p.require(f, what, "action", "one of "+strings.Join(actionNames, ", ")); err != nil {
		return fault, err
	}
	action, err := p.word(f.values["action"], what+" action", actionNames)
	if err != nil {
		return fault, err
	}
	fault.Action = Action(action)
	what = fmt.Sprintf("%s (%s)", what, action)
	spec := actionSpecs[fault.Action]
	if err := p.keysFit(f, what, fault.Action, spec); err != nil {
		return fault, err
	}
	if fault.At, err = p.duration(f.values["at"], what+" at", durationMax); err != nil {
		return fault, err
	}
	if fault.At > workload.Duration {
		return fault, p.errorf(f.values["at"], "%s: at %s is after the workload ends (duration %s)", what, fault.At, workload.Duration)
	}
	if err := p.target(f, what, spec, topology, &fault); err != nil {
		return fault, err
	}
	if err := p.faultValues(f, what, topology, &fault); err != nil {
		return fault, err
	}
	if fault.Action.NeedsRedisCluster() && topology.Redis != RedisCluster {
		return fault, p.errorf(f.values["action"], "%s acts on a Redis Cluster: set topology.redis: cluster", what)
	}
	if fault.Room > workload.Rooms {
		return fault, p.errorf(f.values["room"], "%s: room %d, but the workload has only %d", what, fault.Room, workload.Rooms)
	}
	if (fault.Action == SlowConsumer || fault.Action == Away) && fault.Clients > workload.Clients {
		return fault, p.errorf(f.values["clients"], "%s: %d clients, but the workload has only %d", what, fault.Clients, workload.Clients)
	}
	if fault.End() > workload.Duration {
		return fault, p.errorf(f.values["duration"], "%s: its window ends at %s (%s + %s), after the workload ends (duration %s)", what, fault.End(), fault.At, fault.Duration, workload.Duration)
	}
	return fault, nil
}

// keysFit refuses a key the action does not take and a missing required
// one.
func (p *parser) keysFit(f fields, what string, action Action, spec actionSpec) error {
	for i := 0; i+1 < len(f.node.Content); i += 2 {
		key := f.node.Content[i]
		switch key.Value {
		case "at", "action", "target":
			continue
		}
		if slices.Contains(spec.keys, key.Value) {
			continue
		}
		var users []string
		for _, other := range actionNames {
			if slices.Contains(actionSpecs[Action(other)].keys, key.Value) {
				users = append(users, other)
			}
		}
		return p.errorf(key, "%s: key '%s' does not apply to %s; it applies to %s", what, key.Value, action, strings.Join(users, ", "))
	}
	for _, key := range spec.required {
		if _, ok := f.values[key]; !ok {
			return p.errorf(f.node, "%s: missing '%s'", what, key)
		}
	}
	return nil
}

// target resolves the target and checks that the action takes it.
func (p *parser) target(f fields, what string, spec actionSpec, topology Topology, fault *Fault) error {
	value, ok := f.values["target"]
	if !ok {
		if spec.targets&targetNone == 0 {
			return p.errorf(f.node, "%s: missing 'target' (%s)", what, spec.targetsText)
		}
		switch fault.Action {
		case RedisRestart, PubSubKill, PubSubDrop:
			fault.Target = RedisName
		case BalancerRestart, Flood, JoinFlood, ConnFlood, UpgradeAborts, Garbage:
			fault.Target = BalancerName
		}
		return nil
	}
	target, err := p.text(value, what+" target")
	if err != nil {
		return err
	}
	fault.Target = target
	var kind targetKinds
	switch {
	case target == RedisName:
		kind = targetRedis
	case target == BalancerName:
		kind = targetBalancer
	case slices.Contains(topology.Nodes, target):
		kind = targetNode
	case strings.Contains(target, "-"):
		if fault.Link, err = p.link(value, what, target, topology); err != nil {
			return err
		}
		kind = targetLink
	default:
		message := fmt.Sprintf("%s: unknown node '%s' in target; nodes are %s", what, target, strings.Join(topology.Nodes, ", "))
		if suggestion := closest(target, append(slices.Clone(topology.Nodes), RedisName, BalancerName)); suggestion != "" {
			message += fmt.Sprintf(" (did you mean '%s'?)", suggestion)
		}
		return p.errorf(value, "%s", message)
	}
	if spec.targets&kind == 0 {
		return p.errorf(value, "%s cannot target '%s': it takes %s", fault.Action, target, spec.targetsText)
	}
	return nil
}

// link reads "a-b": a node and redis, or the balancer and a node, in
// either order. Nodes do not talk to each other, nor the balancer to
// Redis, so those links do not exist.
func (p *parser) link(value *yaml.Node, what, target string, topology Topology) ([2]string, error) {
	ends := strings.Split(target, "-")
	if len(ends) != 2 || ends[0] == "" || ends[1] == "" {
		return [2]string{}, p.errorf(value, "%s: bad link '%s'; want two ends joined by '-', e.g. n1-redis or balancer-n2", what, target)
	}
	nodes := 0
	for _, end := range ends {
		switch {
		case slices.Contains(topology.Nodes, end):
			nodes++
		case end == RedisName || end == BalancerName:
		default:
			return [2]string{}, p.errorf(value, "%s: unknown node '%s' in link '%s'; nodes are %s", what, end, target, strings.Join(topology.Nodes, ", "))
		}
	}
	if nodes != 1 {
		return [2]string{}, p.errorf(value, "%s: no link '%s': a link joins one node to redis or to the balancer", what, target)
	}
	return [2]string{ends[0], ends[1]}, nil
}

// faultValues reads the action's own keys (keysFit made sure only those
// are present) and fills in defaults.
func (p *parser) faultValues(f fields, what string, topology Topology, fault *Fault) error {
	var err error
	if fault.Action == Partition {
		fault.Direction = Both
	}
	if fault.Action == RedisRestart {
		fault.Persist = topology.RedisPersistence == PersistenceAOF
	}
	if fault.Action == Flood {
		fault.FloodSendRate = floodSendRateDefault
	}
	fault.Rate = abuseRateDefaults[fault.Action]
	if value, ok := f.values["direction"]; ok {
		direction, err := p.word(value, what+" direction", directions)
		if err != nil {
			return err
		}
		fault.Direction = Direction(direction)
	}
	if value, ok := f.values["persist"]; ok {
		if fault.Persist, err = p.boolean(value, what+" persist"); err != nil {
			return err
		}
	}
	if value, ok := f.values["latency"]; ok {
		if fault.Latency, err = p.duration(value, what+" latency", latencyMax); err != nil {
			return err
		}
	}
	if value, ok := f.values["jitter"]; ok {
		if fault.Jitter, err = p.duration(value, what+" jitter", latencyMax); err != nil {
			return err
		}
		if fault.Jitter > fault.Latency {
			return p.errorf(value, "%s: jitter %s is more than the latency %s; a link cannot deliver before it sends", what, fault.Jitter, fault.Latency)
		}
	}
	if value, ok := f.values["percent"]; ok {
		if fault.Percent, err = p.number(value, what+" percent", 0, percentMax); err != nil {
			return err
		}
		if fault.Percent == 0 {
			return p.errorf(value, "%s: percent must be more than 0", what)
		}
	}
	if value, ok := f.values["clients"]; ok {
		if fault.Clients, err = p.integer(value, what+" clients", 1, clientsMax); err != nil {
			return err
		}
	}
	if value, ok := f.values["send_rate"]; ok {
		if fault.FloodSendRate, err = p.rate(value, what+" send_rate", sendRateMax); err != nil {
			return err
		}
		if fault.FloodSendRate == 0 {
			return p.errorf(value, "%s: send_rate must be more than 0", what)
		}
	}
	if value, ok := f.values["rate"]; ok {
		if fault.Rate, err = p.rate(value, what+" rate", abuseRateMax); err != nil {
			return err
		}
		if fault.Rate == 0 {
			return p.errorf(value, "%s: rate must be more than 0", what)
		}
	}
	if fault.Action.NeedsRedisCluster() {
		fault.Room = 1
	}
	if value, ok := f.values["room"]; ok {
		if fault.Room, err = p.integer(value, what+" room", 1, roomsMax); err != nil {
			return err
		}
	}
	if value, ok := f.values["lag"]; ok {
		if fault.Lag, err = p.duration(value, what+" lag", latencyMax); err != nil {
			return err
		}
	}
	if value, ok := f.values["duration"]; ok {
		if fault.Duration, err = p.duration(value, what+" duration", durationMax); err != nil {
			return err
		}
		if fault.Duration == 0 {
			return p.errorf(value, "%s: duration must be more than 0s (leave it out for a fault without a window)", what)
		}
	}
	return nil
}

// Actions lists every fault action the format has, sorted: what a
// generator of scenarios draws from.
func Actions() []Action {
	actions := make([]Action, len(actionNames))
	for i, name := range actionNames {
		actions[i] = Action(name)
	}
	return actions
}
