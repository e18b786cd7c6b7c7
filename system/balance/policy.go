package balance

import "math"

// choose applies the policy to the eligible backends. It returns the chosen
// index, or unassigned and the refusal.
func (b *Balancer) choose(user string) (int, Refusal) {
	var chosen int
	switch b.config.Policy {
	case RoundRobin:
		chosen = b.chooseRoundRobin()
	case LeastConnections:
		chosen = b.chooseLeastConnections()
	case HashUser:
		chosen = b.chooseHashUser(user)
	default:
		panic("balance: policy " + string(b.config.Policy) + " passed validation")
	}
	if chosen == unassigned {
		return unassigned, b.refusalNow()
	}
	return chosen, ""
}

// chooseRoundRobin takes the next eligible backend after the cursor.
func (b *Balancer) chooseRoundRobin() int {
	count := len(b.backends)
	for step := range count {
		index := (b.cursor + step) % count
		if b.eligible(index) {
			b.cursor = (index + 1) % count
			return index
		}
	}
	return unassigned
}

// chooseLeastConnections takes the eligible backend with the least load;
// among equals, the first after the cursor, so that equal backends take
// turns rather than the first name taking every tie.
func (b *Balancer) chooseLeastConnections() int {
	count := len(b.backends)
	chosen := unassigned
	for step := range count {
		index := (b.cursor + step) % count
		if !b.eligible(index) {
			continue
		}
		if chosen == unassigned || b.backends[index].load() < b.backends[chosen].load() {
			chosen = index
		}
	}
	if chosen != unassigned {
		b.cursor = (chosen + 1) % count
	}
	return chosen
}

// chooseHashUser walks the ring from the user's hash to the first eligible
// backend under the load bound.
func (b *Balancer) chooseHashUser(user string) int {
	bound := b.hashLoadBound()
	return b.ring.walk(user, len(b.backends), func(index int) bool {
		return b.eligible(index) && b.backends[index].load() < bound
	})
}

// hashLoadBound is ceil(c * (load + 1) / eligible backends): the most a
// backend may carry after taking one more connection. With c > 1 some
// eligible backend is always under it.
func (b *Balancer) hashLoadBound() int {
	load, eligible := 0, 0
	for index, backend := range b.backends {
		if b.eligible(index) {
			load += backend.load()
			eligible++
		}
	}
	if eligible == 0 {
		return 0
	}
	return int(math.Ceil(b.config.HashLoadFactor * float64(load+1) / float64(eligible)))
}

// home is the backend a user hashes to when load is no concern: the first
// backend on its ring walk that is up and in rotation.
func (b *Balancer) home(user string) int {
	return b.ring.walk(user, len(b.backends), func(index int) bool {
		return b.backends[index].up && !b.backends[index].draining
	})
}
