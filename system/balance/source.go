package balance

// sourcesMax bounds the new-connection buckets kept per client address; a
// flood from more addresses than that is refused until idle ones are
// pruned, which the global limit would have done anyway.
const sourcesMax = 1 << 16

// AdmitSource spends one of source's new-connection tokens (source is the
// client's address): one address may open at most
// NewConnectionsPerSourcePerSecondMax connections a second, so that one
// client cannot spend the global allowance that every client shares. The
// runtime asks before a client's first Pick; a refusal is
// RefusedSourceRateLimited.
func (b *Balancer) AdmitSource(source string) (ok bool, refusal Refusal) {
	if b.config.Mutation == MutationIgnoreSourceLimit {
		return true, ""
	}
	bucket, known := b.sources[source]
	if !known {
		if len(b.sources) >= sourcesMax {
			b.counters.RefusedSourceRateLimited++
			return false, RefusedSourceRateLimited
		}
		fresh := newBucket(b.config.NewConnectionsPerSourcePerSecondMax, b.config.NewConnectionsPerSourceBurst)
		fresh.lastMs = b.nowMs
		bucket = &fresh
		b.sources[source] = bucket
	}
	bucket.refill(b.nowMs)
	if !bucket.take() {
		b.counters.RefusedSourceRateLimited++
		return false, RefusedSourceRateLimited
	}
	return true, ""
}

// pruneSources forgets the addresses whose bucket refilled: they are as
// good as new. Only deletions depend on the map's order.
func (b *Balancer) pruneSources() {
	for source, bucket := range b.sources { // map order: each entry is refilled or deleted alone; nothing is output
		bucket.refill(b.nowMs)
		if bucket.millitokens >= bucket.capacity {
			delete(b.sources, source)
		}
	}
}
