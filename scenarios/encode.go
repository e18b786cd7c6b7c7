package scenarios

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"chatlab/system/balance"
	"chatlab/system/broker/redisscript"
	"chatlab/system/node"
)

// Encode writes the scenario as a scenario file that Parse reads back into
// the same scenario (File aside): what a generated or shrunk scenario is
// saved as. Keys at their defaults are left out, so the file says only
// what differs from a plain run. comment, when not empty, heads the file
// (one "# " line per line of it).
func (s *Scenario) Encode(comment string) []byte {
	root := &yaml.Node{Kind: yaml.MappingNode, HeadComment: comment}
	add(root, "name", text(s.Name))
	add(root, "description", text(s.Description))
	if topology := encodeTopology(s.Topology); len(topology.Content) > 0 {
		add(root, "topology", topology)
	}
	add(root, "workload", encodeWorkload(s.Workload))
	if len(s.Faults) > 0 {
		faults := &yaml.Node{Kind: yaml.SequenceNode}
		for _, fault := range s.Faults {
			faults.Content = append(faults.Content, encodeFault(fault, s.Topology))
		}
		add(root, "faults", faults)
	}
	add(root, "expect", encodeExpect(s.Expect))
	var out bytes.Buffer
	encoder := yaml.NewEncoder(&out)
	encoder.SetIndent(2)
	if err := encoder.Encode(root); err != nil {
		// The tree is built here from plain values: failing to encode it
		// is a bug.
		panic("scenarios: encode: " + err.Error())
	}
	return out.Bytes()
}

func encodeTopology(t Topology) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	if !slices.Equal(t.Nodes, defaultNodeNames(nodesDefault)) {
		if slices.Equal(t.Nodes, defaultNodeNames(len(t.Nodes))) {
			add(m, "nodes", integer(len(t.Nodes)))
		} else {
			names := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
			for _, name := range t.Nodes {
				names.Content = append(names.Content, text(name))
			}
			add(m, "nodes", names)
		}
	}
	if t.Policy != balance.LeastConnections {
		add(m, "policy", text(string(t.Policy)))
	}
	if t.Delivery != node.Recover {
		add(m, "delivery", text(string(t.Delivery)))
	}
	if t.RedisPersistence != PersistenceNone {
		add(m, "redis_persistence", text(string(t.RedisPersistence)))
	}
	if t.RecentLenMax != node.RecentLenMaxDefault {
		add(m, "recent_len_max", integer(t.RecentLenMax))
	}
	if t.HistoryLenMax != redisscript.HistoryLenMaxDefault {
		add(m, "history_len_max", integer(t.HistoryLenMax))
	}
	for _, timer := range []struct {
		key   string
		value time.Duration
	}{{"pong_wait", t.PongWait}, {"drain_timeout", t.DrainTimeout}, {"write_timeout", t.WriteTimeout},
		{"pubsub_break_every", t.PubSubBreakEvery}, {"balancer_write_wait", t.BalancerWriteWait},
		{"room_poll_interval", t.RoomPollInterval}} {
		if timer.value != 0 {
			add(m, timer.key, duration(timer.value))
		}
	}
	if t.PubSubBuffer != 0 {
		add(m, "pubsub_buffer", integer(t.PubSubBuffer))
	}
	if t.Redis != RedisSingle {
		add(m, "redis", text(string(t.Redis)))
	}
	if t.RedisReplicasAck != 0 {
		add(m, "redis_replicas_ack", integer(t.RedisReplicasAck))
	}
	if t.RedisEpochFence {
		add(m, "redis_epoch_fence", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
	}
	return m
}

func encodeWorkload(w Workload) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	add(m, "clients", integer(w.Clients))
	add(m, "rooms", integer(w.Rooms))
	add(m, "send_rate", rate(w.SendRatePerClient))
	if w.MessageBytes != messageBytesDefault {
		add(m, "message_bytes", integer(w.MessageBytes))
	}
	add(m, "duration", duration(w.Duration))
	if w.JoinLeave != 0 {
		add(m, "join_leave", rate(w.JoinLeave))
	}
	if w.Reconnects != 0 {
		add(m, "reconnects", rate(w.Reconnects))
	}
	if w.SendBurst > 1 {
		add(m, "send_burst", integer(w.SendBurst))
	}
	if w.Listeners != 0 {
		add(m, "listeners", integer(w.Listeners))
	}
	return m
}

func encodeFault(f Fault, t Topology) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
	add(m, "at", duration(f.At))
	add(m, "action", text(string(f.Action)))
	if f.Target != "" {
		add(m, "target", text(f.Target))
	}
	if f.Action == Partition && f.Direction != Both {
		add(m, "direction", text(string(f.Direction)))
	}
	if f.Action == RedisRestart && f.Persist != (t.RedisPersistence == PersistenceAOF) {
		add(m, "persist", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(f.Persist)})
	}
	if f.Action == Delay {
		add(m, "latency", duration(f.Latency))
		if f.Jitter != 0 {
			add(m, "jitter", duration(f.Jitter))
		}
	}
	if f.Action == Loss || f.Action == PubSubDrop {
		add(m, "percent", &yaml.Node{Kind: yaml.ScalarNode, Value: strconv.FormatFloat(f.Percent, 'f', -1, 64)})
	}
	if f.Clients != 0 {
		add(m, "clients", integer(f.Clients))
	}
	if f.Action == Flood && f.FloodSendRate != floodSendRateDefault {
		add(m, "send_rate", rate(f.FloodSendRate))
	}
	if f.Action.Abuse() && f.Action != Flood && f.Rate != abuseRateDefaults[f.Action] {
		add(m, "rate", rate(f.Rate))
	}
	if f.Action.NeedsRedisCluster() {
		add(m, "room", integer(f.Room))
		if f.Lag != 0 {
			add(m, "lag", duration(f.Lag))
		}
	}
	if f.Duration != 0 {
		add(m, "duration", duration(f.Duration))
	}
	return m
}

func encodeExpect(e Expectations) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for _, list := range []struct {
		key        string
		properties []Property
	}{{"hold", e.Hold}, {"break", e.Break}} {
		if len(list.properties) == 0 {
			continue
		}
		names := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, property := range list.properties {
			names.Content = append(names.Content, text(string(property)))
		}
		add(m, list.key, names)
	}
	if e.LatencyP99MaxMs != 0 {
		add(m, "latency_p99_max", duration(time.Duration(e.LatencyP99MaxMs)*time.Millisecond))
	}
	if e.ConvergeWithin != 0 {
		add(m, "converge_within", duration(e.ConvergeWithin))
	}
	if e.RecoverWithin != 0 {
		add(m, "recover_within", duration(e.RecoverWithin))
	}
	if e.RecoveryLatencyMaxMs != 0 {
		add(m, "recovery_latency_max", duration(time.Duration(e.RecoveryLatencyMaxMs)*time.Millisecond))
	}
	if e.CutOffWithin != 0 {
		add(m, "cutoff_within", duration(e.CutOffWithin))
	}
	if e.DeliveryLagMaxMs != 0 {
		add(m, "delivery_lag_max", duration(time.Duration(e.DeliveryLagMaxMs)*time.Millisecond))
	}
	if e.HarmLatencyMaxMs != 0 {
		add(m, "harm_latency_max", duration(time.Duration(e.HarmLatencyMaxMs)*time.Millisecond))
	}
	return m
}

func add(m *yaml.Node, key string, value *yaml.Node) {
	m.Content = append(m.Content, text(key), value)
}

func text(value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
}

func integer(value int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(value)}
}

// duration writes d in the largest unit that holds it whole: "12s",
// "1500ms", "250us".
func duration(d time.Duration) *yaml.Node {
	var value string
	switch {
	case d%time.Second == 0:
		value = fmt.Sprintf("%ds", d/time.Second)
	case d%time.Millisecond == 0:
		value = fmt.Sprintf("%dms", d/time.Millisecond)
	case d%time.Microsecond == 0:
		value = fmt.Sprintf("%dus", d/time.Microsecond)
	default:
		value = fmt.Sprintf("%dns", d)
	}
	return text(value)
}

// rate writes r per second, or per minute or hour when that is a whole
// count that reads back exactly.
func rate(r Rate) *yaml.Node {
	for _, unit := range []string{"s", "min", "h"} {
		count := math.Round(float64(r) * rateUnits[unit])
		if Rate(count/rateUnits[unit]) == r {
			return text(strconv.FormatFloat(count, 'f', -1, 64) + "/" + unit)
		}
	}
	return text(strconv.FormatFloat(float64(r), 'f', -1, 64) + "/s")
}
