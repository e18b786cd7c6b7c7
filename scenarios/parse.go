package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"chatlab/system/balance"
	"chatlab/system/broker/redisscript"
	"chatlab/system/node"
	"chatlab/system/protocol"
)

// Limits on what a scenario may ask for: a typo of an extra zero fails
// here rather than as a run that never ends.
const (
	nodesMax          = 16
	clientsMax        = 10_000
	roomsMax          = 1_000
	sendRateMax  Rate = 1_000
	faultsMax         = 100
	fileBytesMax      = 256 * 1024
	// sendBurstMax keeps a burst within the node's default send burst
	// (20), so that a burst is sent rather than refused as too fast.
	sendBurstMax = 20
	durationMax  = time.Hour
	// pubSubBreakEveryMin is the shortest mean time between pub/sub
	// connection breaks: a few link round trips and pings.
	pubSubBreakEveryMin = 100 * time.Millisecond
	// roomPollIntervalMin is the shortest room poll: shorter would have
	// every room fetch all the time.
	roomPollIntervalMin = 100 * time.Millisecond
	// pubSubBufferMax bounds the broker link's event buffer as `chatlab
	// node --pubsub-buffer` does.
	pubSubBufferMax    = 1 << 20
	nameBytesMax       = 64
	percentMax         = 100
	latencyMax         = time.Minute
	latencyP99BoundMax = time.Hour
	// recentLenMax and historyLenMax bound the retention settings as
	// `chatlab node` bounds its flags.
	recentLenMax  = 1 << 20
	historyLenMax = 1 << 24
	// redisReplicasAckMax bounds topology.redis_replicas_ack: a cluster of the lab has one replica a master.
	redisReplicasAckMax = 8
	// timerMax bounds the timer settings as `chatlab node` bounds its
	// flags.
	timerMax = 10 * time.Minute
)

// Defaults for keys a file leaves out.
const (
	nodesDefault        = 3
	messageBytesDefault = 64
)

var (
	topLevelKeys = []string{"name", "description", "topology", "workload", "faults", "expect"}
	topologyKeys = []string{"nodes", "policy", "delivery", "redis_persistence", "recent_len_max", "history_len_max",
		"pong_wait", "drain_timeout", "write_timeout", "pubsub_break_every", "balancer_write_wait", "room_poll_interval",
		"pubsub_buffer", "redis", "redis_replicas_ack", "redis_epoch_fence"}
	workloadKeys = []string{"clients", "rooms", "send_rate", "message_bytes", "duration", "join_leave", "reconnects",
		"send_burst", "listeners"}
	expectKeys = []string{"hold", "break", "latency_p99_max", "converge_within", "recover_within", "recovery_latency_max", "cutoff_within", "delivery_lag_max", "harm_latency_max"}

	policies      = []string{string(balance.RoundRobin), string(balance.LeastConnections), string(balance.HashUser)}
	deliveries    = []string{string(node.Recover), string(node.PubSub)}
	persistences  = []string{string(PersistenceNone), string(PersistenceAOF)}
	redisShapes   = []string{string(RedisSingle), string(RedisCluster)}
	propertyNames = func() []string {
		names := make([]string, len(Properties))
		for i, property := range Properties {
			names[i] = string(property)
		}
		return names
	}()

	namePattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	nodeNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	yamlLinePattern = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// Parse parses and checks one scenario file's content; file names it in
// errors, which are *ParseError.
func Parse(file string, data []byte) (*Scenario, error) {
	p := &parser{file: file}
	if len(data) > fileBytesMax {
		return nil, p.errorf(nil, "%d bytes; the limit is %d", len(data), fileBytesMax)
	}
	root, err := p.document(data)
	if err != nil {
		return nil, err
	}
	top, err := p.mapping(root, "scenario", topLevelKeys)
	if err != nil {
		return nil, err
	}
	for _, required := range []struct{ key, why string }{
		{"name", "the scenario's name, as in chatlab chaos --scenario NAME"},
		{"description", "say in a sentence or two what the scenario shows, for newcomers"},
		{"workload", "the clients and their traffic"},
		{"expect", "the properties that must hold or must be seen to break"},
	} {
		if err := p.require(top, "scenario", required.key, required.why); err != nil {
			return nil, err
		}
	}
	s := &Scenario{File: file}
	if s.Name, err = p.name(top.values["name"]); err != nil {
		return nil, err
	}
	if s.Description, err = p.text(top.values["description"], "description"); err != nil {
		return nil, err
	}
	if s.Topology, err = p.topology(top.values["topology"]); err != nil {
		return nil, err
	}
	if s.Workload, err = p.workload(top.values["workload"]); err != nil {
		return nil, err
	}
	if faults, ok := top.values["faults"]; ok {
		if s.Faults, err = p.faults(faults, s.Topology, s.Workload); err != nil {
			return nil, err
		}
	}
	if s.Expect, err = p.expectations(top.values["expect"]); err != nil {
		return nil, err
	}
	return s, nil
}

// document decodes data into a YAML tree and returns its root, refusing a
// file that holds more than one document.
func (p *parser) document(data []byte) (*yaml.Node, error) {
	decoder := yaml.NewDecoder(bytes.NewReader(data))
	var document yaml.Node
	if err := decoder.Decode(&document); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, p.errorf(nil, "the file is empty")
		}
		return nil, p.syntaxError(err)
	}
	var extra yaml.Node
	if err := decoder.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, p.syntaxError(err)
		}
		return nil, p.errorf(&extra, "a second YAML document ('---'); a file holds one scenario")
	}
	return document.Content[0], nil
}

// syntaxError turns the YAML library's "yaml: line N: problem" into a
// ParseError at that line.
func (p *parser) syntaxError(err error) error {
	match := yamlLinePattern.FindStringSubmatch(err.Error())
	if match == nil {
		return p.errorf(nil, "%v", err)
	}
	line, _ := strconv.Atoi(match[1])
	return &ParseError{File: p.file, Line: line, Message: "bad YAML: " + match[2]}
}

func (p *parser) name(node *yaml.Node) (string, error) {
	name, err := p.text(node, "name")
	if err != nil {
		return "", err
	}
	if !namePattern.MatchString(name) || len(name) > nameBytesMax {
		return "", p.errorf(node, "name '%s': want lowercase letters, digits and -, at most %d characters", name, nameBytesMax)
	}
	return name, nil
}

func (p *parser) topology(tree *yaml.Node) (Topology, error) {
	t := Topology{Nodes: defaultNodeNames(nodesDefault), Policy: balance.LeastConnections, Delivery: node.Recover,
		RedisPersistence: PersistenceNone, RecentLenMax: node.RecentLenMaxDefault, HistoryLenMax: redisscript.HistoryLenMaxDefault,
		Redis: RedisSingle}
	if tree == nil {
		return t, nil
	}
	f, err := p.mapping(tree, "topology", topologyKeys)
	if err != nil {
		return t, err
	}
	if value, ok := f.values["nodes"]; ok {
		if t.Nodes, err = p.nodes(value); err != nil {
			return t, err
		}
	}
	if value, ok := f.values["policy"]; ok {
		policy, err := p.word(value, "topology.policy", policies)
		if err != nil {
			return t, err
		}
		t.Policy = balance.Policy(policy)
	}
	if value, ok := f.values["delivery"]; ok {
		delivery, err := p.word(value, "topology.delivery", deliveries)
		if err != nil {
			return t, err
		}
		t.Delivery = node.Delivery(delivery)
	}
	if value, ok := f.values["redis_persistence"]; ok {
		persistence, err := p.word(value, "topology.redis_persistence", persistences)
		if err != nil {
			return t, err
		}
		t.RedisPersistence = Persistence(persistence)
	}
	if value, ok := f.values["recent_len_max"]; ok {
		if t.RecentLenMax, err = p.integer(value, "topology.recent_len_max", 1, recentLenMax); err != nil {
			return t, err
		}
	}
	if value, ok := f.values["history_len_max"]; ok {
		if t.HistoryLenMax, err = p.integer(value, "topology.history_len_max", 1, historyLenMax); err != nil {
			return t, err
		}
	}
	for _, timer := range []struct {
		key     string
		setting *time.Duration
	}{{"pong_wait", &t.PongWait}, {"drain_timeout", &t.DrainTimeout}, {"write_timeout", &t.WriteTimeout},
		{"balancer_write_wait", &t.BalancerWriteWait}} {
		key, setting := timer.key, timer.setting
		value, ok := f.values[key]
		if !ok {
			continue
		}
		if *setting, err = p.duration(value, "topology."+key, timerMax); err != nil {
			return t, err
		}
		if *setting == 0 {
			return t, p.errorf(value, "topology.%s: want more than 0", key)
		}
	}
	if value, ok := f.values["redis"]; ok {
		shape, err := p.word(value, "topology.redis", redisShapes)
		if err != nil {
			return t, err
		}
		t.Redis = RedisTopology(shape)
	}
	if value, ok := f.values["redis_replicas_ack"]; ok {
		if t.RedisReplicasAck, err = p.integer(value, "topology.redis_replicas_ack", 0, redisReplicasAckMax); err != nil {
			return t, err
		}
		if t.RedisReplicasAck > 0 && t.Redis != RedisCluster {
			return t, p.errorf(value, "topology.redis_replicas_ack: replicas are a Redis Cluster's; set topology.redis: cluster")
		}
	}
	if value, ok := f.values["redis_epoch_fence"]; ok {
		if t.RedisEpochFence, err = p.boolean(value, "topology.redis_epoch_fence"); err != nil {
			return t, err
		}
		if t.RedisEpochFence && t.Redis != RedisCluster {
			return t, p.errorf(value, "topology.redis_epoch_fence: it fences a Redis Cluster's failovers; set topology.redis: cluster")
		}
	}
	if value, ok := f.values["pubsub_break_every"]; ok {
		if t.PubSubBreakEvery, err = p.duration(value, "topology.pubsub_break_every", durationMax); err != nil {
			return t, err
		}
		if t.PubSubBreakEvery > 0 && t.PubSubBreakEvery < pubSubBreakEveryMin {
			return t, p.errorf(value, "topology.pubsub_break_every: %s is too short; want 0s (never) or at least %s, "+
				"so that a pub/sub connection lives long enough to come up", t.PubSubBreakEvery, pubSubBreakEveryMin)
		}
	}
	if value, ok := f.values["room_poll_interval"]; ok {
		if t.RoomPollInterval, err = p.duration(value, "topology.room_poll_interval", timerMax); err != nil {
			return t, err
		}
		if t.RoomPollInterval < roomPollIntervalMin {
			return t, p.errorf(value, "topology.room_poll_interval: %s is too short; want at least %s", t.RoomPollInterval, roomPollIntervalMin)
		}
	}
	if value, ok := f.values["pubsub_buffer"]; ok {
		if t.PubSubBuffer, err = p.integer(value, "topology.pubsub_buffer", 1, pubSubBufferMax); err != nil {
			return t, err
		}
	}
	return t, nil
}

func defaultNodeNames(count int) []string {
	names := make([]string, count)
	for i := range names {
		names[i] = fmt.Sprintf("n%d", i+1)
	}
	return names
}

// nodes reads a count (named n1..nN) or a list of names.
func (p *parser) nodes(node *yaml.Node) ([]string, error) {
	if node.Kind == yaml.ScalarNode {
		count, err := p.integer(node, "topology.nodes", 1, nodesMax)
		if err != nil {
			return nil, err
		}
		return defaultNodeNames(count), nil
	}
	items, err := p.list(node, "topology.nodes", nodesMax)
	if err != nil {
		return nil, p.errorf(node, "topology.nodes: want a count or a list of names, got %s", describe(node))
	}
	if len(items) == 0 {
		return nil, p.errorf(node, "topology.nodes: the list is empty")
	}
	names := make([]string, 0, len(items))
	for _, item := range items {
		name, err := p.text(item, "topology.nodes")
		if err != nil {
			return nil, err
		}
		switch {
		case name == RedisName || name == BalancerName:
			return nil, p.errorf(item, "topology.nodes: '%s' is reserved; name nodes otherwise", name)
		case !nodeNamePattern.MatchString(name):
			// A '-' is refused because links are written "n1-redis".
			return nil, p.errorf(item, "topology.nodes: '%s': want a lowercase letter, then letters, digits or _ (no '-'), at most 32 characters", name)
		case slices.Contains(names, name):
			return nil, p.errorf(item, "topology.nodes: '%s' is listed twice", name)
		}
		names = append(names, name)
	}
	return names, nil
}

func (p *parser) workload(node *yaml.Node) (Workload, error) {
	w := Workload{MessageBytes: messageBytesDefault, SendBurst: 1}
	f, err := p.mapping(node, "workload", workloadKeys)
	if err != nil {
		return w, err
	}
	for _, required := range []struct{ key, why string }{
		{"clients", "how many clients"},
		{"rooms", "how many rooms they use"},
		{"send_rate", "each client's sends per time, e.g. 1/s"},
		{"duration", "how long the clients send, e.g. 20s"},
	} {
		if err := p.require(f, "workload", required.key, required.why); err != nil {
			return w, err
		}
	}
	if w.Clients, err = p.integer(f.values["clients"], "workload.clients", 1, clientsMax); err != nil {
		return w, err
	}
	if w.Rooms, err = p.integer(f.values["rooms"], "workload.rooms", 1, roomsMax); err != nil {
		return w, err
	}
	if w.SendRatePerClient, err = p.rate(f.values["send_rate"], "workload.send_rate", sendRateMax); err != nil {
		return w, err
	}
	if w.SendRatePerClient == 0 {
		return w, p.errorf(f.values["send_rate"], "workload.send_rate: must be more than 0")
	}
	if value, ok := f.values["message_bytes"]; ok {
		if w.MessageBytes, err = p.integer(value, "workload.message_bytes", 1, protocol.BodyBytesMax); err != nil {
			return w, err
		}
	}
	if w.Duration, err = p.duration(f.values["duration"], "workload.duration", durationMax); err != nil {
		return w, err
	}
	if w.Duration == 0 {
		return w, p.errorf(f.values["duration"], "workload.duration: must be more than 0s")
	}
	if value, ok := f.values["join_leave"]; ok {
		if w.JoinLeave, err = p.rate(value, "workload.join_leave", sendRateMax); err != nil {
			return w, err
		}
	}
	if value, ok := f.values["reconnects"]; ok {
		if w.Reconnects, err = p.rate(value, "workload.reconnects", sendRateMax); err != nil {
			return w, err
		}
	}
	if value, ok := f.values["send_burst"]; ok {
		if w.SendBurst, err = p.integer(value, "workload.send_burst", 1, sendBurstMax); err != nil {
			return w, err
		}
	}
	if value, ok := f.values["listeners"]; ok {
		if w.Listeners, err = p.integer(value, "workload.listeners", 0, clientsMax-w.Clients); err != nil {
			return w, err
		}
	}
	return w, nil
}

func (p *parser) expectations(node *yaml.Node) (Expectations, error) {
	var e Expectations
	f, err := p.mapping(node, "expect", expectKeys)
	if err != nil {
		return e, err
	}
	if value, ok := f.values["hold"]; ok {
		if e.Hold, err = p.properties(value, "expect.hold"); err != nil {
			return e, err
		}
	}
	if value, ok := f.values["break"]; ok {
		if e.Break, err = p.properties(value, "expect.break"); err != nil {
			return e, err
		}
		for _, property := range e.Break {
			if slices.Contains(e.Hold, property) {
				return e, p.errorf(value, "expect: '%s' is under both hold and break", property)
			}
		}
	}
	if len(e.Hold) == 0 && len(e.Break) == 0 {
		return e, p.errorf(node, "expect: list at least one property under hold or break; properties: %s", strings.Join(propertyNames, ", "))
	}
	for _, property := range Always {
		if !slices.Contains(e.Hold, property) && !slices.Contains(e.Break, property) {
			e.Hold = append(e.Hold, property)
		}
	}
	if value, ok := f.values["latency_p99_max"]; ok {
		if e.LatencyP99MaxMs, err = p.latencyBound(value, "expect.latency_p99_max"); err != nil {
			return e, err
		}
	}
	if value, ok := f.values["converge_within"]; ok {
		if e.ConvergeWithin, err = p.duration(value, "expect.converge_within", durationMax); err != nil {
			return e, err
		}
	}
	if value, ok := f.values["recover_within"]; ok {
		if e.RecoverWithin, err = p.duration(value, "expect.recover_within", durationMax); err != nil {
			return e, err
		}
	}
	if value, ok := f.values["recovery_latency_max"]; ok {
		if e.RecoveryLatencyMaxMs, err = p.latencyBound(value, "expect.recovery_latency_max"); err != nil {
			return e, err
		}
	}
	if value, ok := f.values["cutoff_within"]; ok {
		if e.CutOffWithin, err = p.duration(value, "expect.cutoff_within", durationMax); err != nil {
			return e, err
		}
	}
	if value, ok := f.values["delivery_lag_max"]; ok {
		if e.DeliveryLagMaxMs, err = p.latencyBound(value, "expect.delivery_lag_max"); err != nil {
			return e, err
		}
	}
	if value, ok := f.values["harm_latency_max"]; ok {
		if e.HarmLatencyMaxMs, err = p.latencyBound(value, "expect.harm_latency_max"); err != nil {
			return e, err
		}
	}
	return e, nil
}

// latencyBound reads a latency bound in milliseconds: at least 1 ms.
func (p *parser) latencyBound(node *yaml.Node, what string) (int64, error) {
	bound, err := p.duration(node, what, latencyP99BoundMax)
	if err != nil {
		return 0, err
	}
	if bound < time.Millisecond {
		return 0, p.errorf(node, "%s: want at least 1ms", what)
	}
	return bound.Milliseconds(), nil
}

func (p *parser) properties(node *yaml.Node, what string) ([]Property, error) {
	items, err := p.list(node, what, len(Properties))
	if err != nil {
		return nil, err
	}
	properties := make([]Property, 0, len(items))
	for _, item := range items {
		name, err := p.word(item, what, propertyNames)
		if err != nil {
			return nil, err
		}
		if slices.Contains(properties, Property(name)) {
			return nil, p.errorf(item, "%s: '%s' is listed twice", what, name)
		}
		properties = append(properties, Property(name))
	}
	return properties, nil
}
