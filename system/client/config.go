package client

import (
	"fmt"
	"strconv"

	"chatlab/system/protocol"
)

// Config sets up a client. Zero durations and limits take their defaults.
type Config struct {
	// User is the user name this client connects as; the host puts it in
	// the dial (token or ?user=).
	User string
	// Name is the unique client instance name. Send ids are Name + "-" +
	// counter, so they are unique across the cluster.
	Name string
	// Random is the injected source of randomness (backoff and resend
	// jitter). Required.
	Random func() uint64
	// ResendAfterMs is how long a transmitted send waits for an answer
	// before it is resent with the same id (default 2000).
	ResendAfterMs int64
	// BackoffBaseMs and BackoffMaxMs bound the reconnect backoff: the n-th
	// consecutive failure waits a random time in [0, min(BackoffMaxMs,
	// BackoffBaseMs * 2^(n-1))] (defaults 100 and 5000).
	BackoffBaseMs int64
	BackoffMaxMs  int64
	// ReconnectJitterMs bounds the random delay before redialing after the
	// node asked us to reconnect (close code 4000 or draining), spreading a
	// drained node's clients over the rest of the cluster (default 250).
	ReconnectJitterMs int64
	// PendingSendsMax is how many unacked sends are held; Send beyond it
	// returns ErrPendingSendsFull (default 1024).
	PendingSendsMax int
	// SendAttemptsMax is how many times one send is transmitted before it
	// fails for good (default 32).
	SendAttemptsMax int
}

// Defaults.
const (
	resendAfterMsDefault     = 2000
	backoffBaseMsDefault     = 100
	backoffMaxMsDefault      = 5000
	reconnectJitterMsDefault = 250
	pendingSendsMaxDefault   = 1024
	sendAttemptsMaxDefault   = 32
)

// counterDigitsMax is the length of the largest send counter in decimal
// (a uint64), which the send id must have room for.
var counterDigitsMax = len(strconv.FormatUint(^uint64(0), 10))

func (cfg Config) withDefaults() Config {
	if cfg.ResendAfterMs == 0 {
		cfg.ResendAfterMs = resendAfterMsDefault
	}
	if cfg.BackoffBaseMs == 0 {
		cfg.BackoffBaseMs = backoffBaseMsDefault
	}
	if cfg.BackoffMaxMs == 0 {
		cfg.BackoffMaxMs = backoffMaxMsDefault
	}
	if cfg.ReconnectJitterMs == 0 {
		cfg.ReconnectJitterMs = reconnectJitterMsDefault
	}
	if cfg.PendingSendsMax == 0 {
		cfg.PendingSendsMax = pendingSendsMaxDefault
	}
	if cfg.SendAttemptsMax == 0 {
		cfg.SendAttemptsMax = sendAttemptsMaxDefault
	}
	return cfg
}

// check panics on a configuration no host should build: these are
// programmer errors, not operating conditions.
func (cfg Config) check() {
	switch {
	case cfg.Random == nil:
		panic("client: Config.Random is required")
	case cfg.Name == "":
		panic("client: Config.Name is required")
	case len(cfg.Name)+1+counterDigitsMax > protocol.IDBytesMax:
		panic(fmt.Sprintf("client: Config.Name %q leaves no room for a send counter within %d bytes", cfg.Name, protocol.IDBytesMax))
	case cfg.ResendAfterMs < 0, cfg.BackoffBaseMs < 0, cfg.ReconnectJitterMs < 0:
		panic("client: negative duration in Config")
	case cfg.BackoffMaxMs < cfg.BackoffBaseMs:
		panic("client: Config.BackoffMaxMs is below BackoffBaseMs")
	case cfg.PendingSendsMax < 0, cfg.SendAttemptsMax < 0:
		panic("client: negative limit in Config")
	}
}
