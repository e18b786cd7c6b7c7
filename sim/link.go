package sim

import (
	"math/rand/v2"
	"time"
)

// Distribution is the shape of a link's jitter.
type Distribution string

// Jitter distributions.
const (
	// Uniform jitter is drawn from [0, Jitter].
	Uniform Distribution = "uniform"
	// Exponential jitter has mean Jitter and a long tail, cut at
	// jitterTailMax times the mean.
	Exponential Distribution = "exponential"
)

// jitterTailMax cuts the exponential tail so that one unlucky draw cannot
// stall a connection for ever (TCP would retransmit long before).
const jitterTailMax = 10

// retransmitDelay is what a lost packet costs: TCP keeps order and
// retransmits after a timeout, so on a reliable connection loss shows up as
// delay (and head-of-line blocking), not as a missing message.
const retransmitDelay = 200 * time.Millisecond

// LinkSpec describes the link between two hosts, the same in both
// directions. The zero value is an ideal link: no latency, no limit.
type LinkSpec struct {
	// Latency is the one-way base latency.
	Latency time.Duration
	// Jitter is added to Latency, drawn from Distribution.
	Jitter time.Duration
	// Distribution of the jitter: Uniform when empty.
	Distribution Distribution
	// BandwidthBytesPerSecond caps the link; 0 is unlimited. A capped link
	// makes a fast writer's frames queue up: slow consumers become real.
	BandwidthBytesPerSecond int64
	// LossPercent of packets are lost once and retransmitted after
	// retransmitDelay.
	LossPercent int
}

// sample draws one packet's one-way delay over the link.
func (l LinkSpec) sample(random *rand.Rand) time.Duration {
	delay := l.Latency
	if l.Jitter > 0 {
		switch l.Distribution {
		case Exponential:
			draw := random.ExpFloat64()
			if draw > jitterTailMax {
				draw = jitterTailMax
			}
			delay += time.Duration(draw * float64(l.Jitter))
		default:
			delay += time.Duration(random.Int64N(int64(l.Jitter) + 1))
		}
	}
	if l.LossPercent > 0 && random.IntN(100) < l.LossPercent {
		delay += retransmitDelay
	}
	return delay
}

// transmitTime is how long size bytes occupy the link.
func (l LinkSpec) transmitTime(size int) time.Duration {
	if l.BandwidthBytesPerSecond <= 0 {
		return 0
	}
	return time.Duration(int64(size) * int64(time.Second) / l.BandwidthBytesPerSecond)
}
