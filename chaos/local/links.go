package local

import (
	"context"
	"fmt"
	"time"

	"chatlab/scenarios"
)

// link resolves a link "a-b" between a node and redis or the balancer to
// its fault proxy, and says whether a is the end that dials (the node
// dials Redis; the balancer dials the node), which decides which Flow
// "from a to b" is.
func (c *Cluster) link(a, b string) (proxy *FaultProxy, aDials bool, err error) {
	for _, pair := range []struct {
		node, other string
		aIsNode     bool
	}{{a, b, true}, {b, a, false}} {
		if _, ok := c.nodes[pair.node]; !ok {
			continue
		}
		switch pair.other {
		case scenarios.RedisName:
			if c.cfg.DirectRedis {
				return nil, false, fmt.Errorf("local: the nodes reach Redis directly, so no fault on %s-%s", a, b)
			}
			return c.redisLinks[pair.node], pair.aIsNode, nil
		case scenarios.BalancerName:
			if c.router == nil {
				return nil, false, fmt.Errorf("local: no balancer, so no link %s-%s", a, b)
			}
			if c.cfg.DirectBackends {
				return nil, false, fmt.Errorf("local: the balancer reaches the nodes directly, so no fault on %s-%s", a, b)
			}
			return c.balancerLinks[pair.node], !pair.aIsNode, nil
		}
	}
	return nil, false, fmt.Errorf("local: no link %s-%s: a link joins a node to %s or %s", a, b, scenarios.RedisName, scenarios.BalancerName)
}

// Partition cuts the link a-b: both ways, or only a to b (To), or only b
// to a (From). Bytes are held, not dropped, until Heal.
func (c *Cluster) Partition(_ context.Context, a, b string, direction scenarios.Direction) error {
	proxy, aDials, err := c.link(a, b)
	if err != nil {
		return err
	}
	aToB := Downstream
	if aDials {
		aToB = Upstream
	}
	switch direction {
	case scenarios.Both, "":
		proxy.Block(Upstream, true)
		proxy.Block(Downstream, true)
	case scenarios.To:
		proxy.Block(aToB, true)
	case scenarios.From:
		proxy.Block(1-aToB, true)
	default:
		return fmt.Errorf("local: direction %q: want both, to or from", direction)
	}
	return nil
}

// Heal ends every partition, delay and loss on the link a-b.
func (c *Cluster) Heal(_ context.Context, a, b string) error {
	proxy, _, err := c.link(a, b)
	if err != nil {
		return err
	}
	proxy.Heal()
	c.reapplyRedisPause()
	return nil
}

// HealAll ends every partition, delay and loss on every link.
func (c *Cluster) HealAll(context.Context) error {
	for _, name := range c.order {
		if link, ok := c.redisLinks[name]; ok {
			link.Heal()
		}
		if link, ok := c.balancerLinks[name]; ok {
			link.Heal()
		}
	}
	c.reapplyRedisPause()
	return nil
}

// reapplyRedisPause keeps a paused embedded Redis paused across a heal:
// its pause is made of the same blocks.
func (c *Cluster) reapplyRedisPause() {
	if c.redisPaused {
		_ = c.pause(scenarios.RedisName, true)
	}
}

// Delay adds latency ± jitter to each chunk on the link a-b, both ways.
func (c *Cluster) Delay(_ context.Context, a, b string, latency, jitter time.Duration) error {
	proxy, _, err := c.link(a, b)
	if err != nil {
		return err
	}
	proxy.Delay(latency, jitter)
	return nil
}

// Loss cuts connections on the link a-b with this chance per chunk.
func (c *Cluster) Loss(_ context.Context, a, b string, percent int) error {
	proxy, _, err := c.link(a, b)
	if err != nil {
		return err
	}
	proxy.Loss(percent)
	return nil
}

// DropLink cuts every connection on the link a-b now.
func (c *Cluster) DropLink(a, b string) error {
	proxy, _, err := c.link(a, b)
	if err != nil {
		return err
	}
	proxy.Drop()
	return nil
}

// DropPubSub loses this share, in percent, of the pub/sub messages Redis
// pushes to node (redis: to every node) through its link's proxy, while
// the connections stay up; 0 ends it.
func (c *Cluster) DropPubSub(_ context.Context, node string, percent float64) error {
	if c.cfg.DirectRedis {
		return fmt.Errorf("local: the nodes reach Redis directly, so no proxy to drop pub/sub pushes")
	}
	if node == scenarios.RedisName {
		for _, name := range c.order {
			c.redisLinks[name].DropPushes(percent)
		}
		return nil
	}
	link, ok := c.redisLinks[node]
	if !ok {
		return fmt.Errorf("local: no node %s", node)
	}
	link.DropPushes(percent)
	return nil
}

// PushesDropped is how many pub/sub pushes DropPubSub lost, over every
// node.
func (c *Cluster) PushesDropped() int {
	total := 0
	for _, link := range c.redisLinks {
		total += link.PushesDropped()
	}
	return total
}
