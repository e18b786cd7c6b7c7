package client

// backOff schedules the next dial after one more consecutive failure:
// exponential backoff with full jitter, so that clients dropped together do
// not come back together.
func (c *Client) backOff() {
	c.failures++
	c.redialAtMs = c.nowMs + c.jitterMs(backoffCeilingMs(c.cfg.BackoffBaseMs, c.cfg.BackoffMaxMs, c.failures))
}

// backoffCeilingMs is the longest wait after the given number of
// consecutive failures: baseMs doubled per failure after the first, capped
// at maxMs. The doubling stops at the cap, so the loop runs at most
// log2(maxMs/baseMs)+1 times and never overflows.
func backoffCeilingMs(baseMs, maxMs int64, failures int) int64 {
	ceilingMs := baseMs
	for i := 1; i < failures && ceilingMs < maxMs; i++ {
		ceilingMs *= 2
	}
	return min(ceilingMs, maxMs)
}

// jitterMs is a random duration in [0, ceilingMs].
func (c *Client) jitterMs(ceilingMs int64) int64 {
	if ceilingMs <= 0 {
		return 0
	}
	return int64(c.cfg.Random() % uint64(ceilingMs+1))
}
