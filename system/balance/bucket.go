package balance

// millitokensPerToken: the bucket counts thousandths of a token so that a
// rate in tokens per second refills exactly on a clock in milliseconds.
const millitokensPerToken = 1000

// bucket is a token bucket on the balancer's clock. It starts full.
type bucket struct {
	perSecond   int64
	capacity    int64 // in millitokens
	millitokens int64
	lastMs      int64
}

func newBucket(perSecond, burst int) bucket {
	capacity := int64(burst) * millitokensPerToken
	return bucket{perSecond: int64(perSecond), capacity: capacity, millitokens: capacity}
}

// refill adds what the time since the last refill earned. A clock that goes
// backwards earns nothing (and does not go back).
func (b *bucket) refill(nowMs int64) {
	if nowMs <= b.lastMs {
		return
	}
	// perSecond tokens per 1000 ms is perSecond millitokens per ms.
	b.millitokens = min(b.capacity, b.millitokens+(nowMs-b.lastMs)*b.perSecond)
	b.lastMs = nowMs
}

// take spends one token if there is one.
func (b *bucket) take() bool {
	if b.millitokens < millitokensPerToken {
		return false
	}
	b.millitokens -= millitokensPerToken
	return true
}

// tokens is how many whole tokens are left.
func (b *bucket) tokens() int64 {
	return b.millitokens / millitokensPerToken
}
