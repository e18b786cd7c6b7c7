package balance

import (
	"hash/fnv"
	"sort"
)

// ring is a consistent-hash ring: HashVirtualNodes points per backend, each
// owning the arc of hashes up to it. The hash is FNV-1a with a fixed mixing
// step, so every balancer and every simulated run places users alike.
type ring struct {
	points []ringPoint // ascending by hash, then backend index
}

type ringPoint struct {
	hash    uint64
	backend int // index into Balancer.backends
}

func newRing(names []string, virtualNodes int) ring {
	points := make([]ringPoint, 0, len(names)*virtualNodes)
	for index, name := range names {
		for point := range virtualNodes {
			// Points step from the name's hash by the golden ratio, then mix:
			// spread more evenly than hashing "name#point" strings.
			hash := mix64(hashKey(name) + uint64(point)*0x9e3779b97f4a7c15)
			points = append(points, ringPoint{hash: hash, backend: index})
		}
	}
	sort.Slice(points, func(i, j int) bool {
		if points[i].hash != points[j].hash {
			return points[i].hash < points[j].hash
		}
		return points[i].backend < points[j].backend
	})
	return ring{points: points}
}

// hashKey is FNV-1a followed by a 64-bit finalizer: FNV alone leaves keys
// that differ in their last byte (user1, user2) close together on the ring.
func hashKey(key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	return mix64(h.Sum64())
}

// mix64 is MurmurHash3's 64-bit finalizer: every input bit reaches every
// output bit.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// walk calls accept with backends in ring order from the key's position,
// each backend once, until accept returns true; it returns that backend, or
// -1 if none was accepted.
func (r *ring) walk(key string, backendCount int, accept func(backend int) bool) int {
	if len(r.points) == 0 {
		return -1
	}
	h := hashKey(key)
	start := sort.Search(len(r.points), func(i int) bool { return r.points[i].hash >= h })
	seen := make([]bool, backendCount)
	seenCount := 0
	// Each point is visited at most once: the walk is bounded by the ring.
	for step := range len(r.points) {
		backend := r.points[(start+step)%len(r.points)].backend
		if seen[backend] {
			continue
		}
		if accept(backend) {
			return backend
		}
		seen[backend] = true
		seenCount++
		if seenCount == backendCount {
			break
		}
	}
	return -1
}
