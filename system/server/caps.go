package server

import (
	"fmt"
	"sync"
)

// ConnectionsPerUserMaxDefault: a person with many tabs and devices stays
// far below it; one token opening thousands of sockets does not.
const ConnectionsPerUserMaxDefault = 100

// connectionCaps counts open connections per user and per client address,
// so that one user (or one address) cannot take every socket of the node.
// HTTP handlers acquire, readers release: it has its own lock.
type connectionCaps struct {
	perUserMax int
	perIPMax   int // 0: no cap, and byIP stays empty

	mu     sync.Mutex
	byUser map[string]int
	byIP   map[string]int
}

func newConnectionCaps(perUserMax, perIPMax int) *connectionCaps {
	return &connectionCaps{perUserMax: perUserMax, perIPMax: perIPMax, byUser: map[string]int{}, byIP: map[string]int{}}
}

// acquire counts one more connection of user from ip (the peer's address:
// behind a balancer, the balancer's, hence no per-address cap by default),
// or says why it is refused.
func (c *connectionCaps) acquire(user, ip string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byUser[user] >= c.perUserMax {
		return fmt.Errorf("user %q has %d connections open, the most this node takes", user, c.byUser[user])
	}
	if c.perIPMax > 0 && c.byIP[ip] >= c.perIPMax {
		return fmt.Errorf("%d connections are open from %s, the most this node takes", c.byIP[ip], ip)
	}
	c.byUser[user]++
	if c.perIPMax > 0 {
		c.byIP[ip]++
	}
	return nil
}

func (c *connectionCaps) release(user, ip string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	decrement(c.byUser, user)
	if c.perIPMax > 0 {
		decrement(c.byIP, ip)
	}
}

func decrement(counts map[string]int, key string) {
	if counts[key] <= 1 {
		delete(counts, key)
		return
	}
	counts[key]--
}
