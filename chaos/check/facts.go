package check

import (
	"fmt"
	"slices"
	"strings"
)

// Check names of the checks that read the run's facts besides the clients'
// history (report.json checks[], after latency).
const (
	CheckCloseCodes = "close-codes"
	CheckBalancer   = "balancer"
	CheckCutOff     = "cut-off"
	CheckRecovery   = "recovery"
	// CheckDeliveryLag: every delivery to a settled receiver, away from
	// faults, comes within DeliveryLagMaxMs of the message's appearance.
	CheckDeliveryLag = "delivery-lag"
	// CheckRateLimit: no connection had more sends accepted than the
	// nodes' send allowance admits.
	CheckRateLimit = "rate-limit"
)

// Defaults of the facts' bounds.
const (
	// RecoverWithinDefault is how long after a fault heals delivery
	// latency may stay above its bound: a node's Redis link notices the
	// heal within its link timeout and reconnect backoff (about 2.5 s),
	// and its clients retry refused sends with a backoff of their own.
	RecoverWithinDefault int64 = 5000
	// CutOffWithinDefault is how long after a stalled client reads again
	// it may take to see its node's cut-off.
	CutOffWithinDefault int64 = 10000
	// RecoveryLatencyMaxDefault bounds the recovered latency when the
	// scenario sets no latency bound of its own.
	RecoveryLatencyMaxDefault float64 = 1000
	// DeliveryLagMaxDefault bounds how long after a message appeared (its
	// ack or first delivery) a settled receiver away from faults may get
	// it. Clean runs keep members of a room within tens of milliseconds of
	// each other (pub/sub breaks and a loaded machine included); a node
	// that only its history poll (every 2 s) keeps up with leaves its
	// members up to two seconds behind.
	DeliveryLagMaxDefault float64 = 1000
	// closeCauseWithinMs is how long after its cause a close may reach the
	// client: a proxy's own close, a reset's round trip, a busy machine.
	closeCauseWithinMs = 5000
	// recoveryJudgedMs bounds the stretch after a recovery whose sends
	// are judged; recoveryJudgedMinMs is the shortest worth judging (the
	// next fault comes sooner).
	recoveryJudgedMs    = 5000
	recoveryJudgedMinMs = 500
)

// Names of the members besides the nodes, in fault targets and links.
const (
	balancerMember = "balancer"
	redisMember    = "redis"
)

// FaultSpan is one fault of the run's timeline as the checks see it.
type FaultSpan struct {
	// Action is the scenario's action name (kill, drain, partition, ...).
	Action string `json:"action"`
	// Target is a node, "balancer", "redis", a link "a-b", or "".
	Target string `json:"target"`
	FromMs int64  `json:"from_ms"`
	// ToMs is when it healed: FromMs for one over at once (a restart);
	// negative for one that lasted to the end of the run.
	ToMs int64 `json:"to_ms"`
}

// Healed reports whether the fault ended within the run.
func (f FaultSpan) Healed() bool { return f.ToMs >= 0 }

func (f FaultSpan) String() string { return strings.TrimSpace(f.Action + " " + f.Target) }

// touches reports whether the fault acts on node, itself or the link
// between it and the balancer (a link to Redis closes no client).
func (f FaultSpan) touches(node string) bool {
	if f.Target == node {
		return true
	}
	ends := strings.SplitN(f.Target, "-", 2)
	return len(ends) == 2 && slices.Contains(ends, node) && slices.Contains(ends, balancerMember)
}

// BalancerDecision is one entry of the balancer's decision log
// (balance.Decision, as recorded on the run's clock).
type BalancerDecision struct {
	Kind     string `json:"kind"`
	AtMs     int64  `json:"at_ms"`
	Backend  string `json:"backend"`
	Conn     uint64 `json:"conn,omitempty"`
	User     string `json:"user,omitempty"`
	Up       bool   `json:"up,omitempty"`
	Draining bool   `json:"draining,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// Policy, ConnectionsMax and HashLoadFactor (start): the
	// configuration the process's picks follow.
	Policy         string  `json:"policy,omitempty"`
	ConnectionsMax int     `json:"connections_max,omitempty"`
	HashLoadFactor float64 `json:"hash_load_factor,omitempty"`
	// Backends (pick): every backend's state just before the pick, in the
	// balancer's order; Cursor: where round-robin and least-connection
	// ties start; Avoid: the backend a retry must not choose.
	Backends []PickState `json:"backends,omitempty"`
	Cursor   int         `json:"cursor,omitempty"`
	Avoid    string      `json:"avoid,omitempty"`
}

// PickState is one backend as the balancer held it at a pick
// (balance.PickState).
type PickState struct {
	Name     string `json:"name"`
	Load     int    `json:"load"`
	Up       bool   `json:"up,omitempty"`
	Draining bool   `json:"draining,omitempty"`
}

// Facts are what a run knows besides its clients' history: the faults it
// applied, the balancer's decision log, and the bounds of the checks that
// read them.
type Facts struct {
	Faults    []FaultSpan
	Decisions []BalancerDecision
	// RecoverWithinMs: after a fault heals, delivery latency is back within
	// RecoveryLatencyMaxMs within it (default RecoverWithinDefault).
	RecoverWithinMs      int64
	RecoveryLatencyMaxMs float64
	// CutOffWithinMs: a stalled client sees its cut-off (close 4000) within
	// it of reading again (default CutOffWithinDefault).
	CutOffWithinMs int64
	// DeliveryLagMaxMs: a settled receiver away from faults gets each
	// message within it of the message's appearance (default
	// DeliveryLagMaxDefault).
	DeliveryLagMaxMs float64
	// HostsMayLag says the clients ran on real hosts, whose readers can fall
	// behind under load: a node's slow-consumer cut that says so in its
	// close reason (protocol.ReasonSlowConsumer) then explains a 4000. In
	// the simulator a client reads at once unless a fault stalls it, so
	// there such a cut of a reading client stays a violation.
	HostsMayLag bool
	// WriteGiveUpMs is the shortest time a write to a client that stopped
	// reading may block before the node (its write timeout) or the
	// balancer (its write wait) gives up and ends the connection without
	// a close frame (0: the scenario sets neither, and no stall reaches
	// them). A stall at least that long then explains a 1006, or the
	// balancer's 4000 for the backend link the node ended.
	WriteGiveUpMs int64
	// HarmLatencyMaxMs bounds the p99 delivery latency of the
	// well-behaved clients' sends during an abuse (default
	// HarmLatencyMaxDefault).
	HarmLatencyMaxMs float64
	// LatencyExcludedSenders are client name prefixes whose messages the
	// recovery and delivery-lag checks leave out (flooding clients).
	LatencyExcludedSenders []string
	// SendBurst and SendRatePerSecond are the nodes' send allowance per
	// connection (node --rate-burst and --rate-per-second); 0 when unknown,
	// which leaves the rate-limit check nothing to judge.
	SendBurst         int
	SendRatePerSecond int
}

func (f Facts) withDefaults() Facts {
	if f.RecoverWithinMs <= 0 {
		f.RecoverWithinMs = RecoverWithinDefault
	}
	if f.RecoveryLatencyMaxMs <= 0 {
		f.RecoveryLatencyMaxMs = RecoveryLatencyMaxDefault
	}
	if f.CutOffWithinMs <= 0 {
		f.CutOffWithinMs = CutOffWithinDefault
	}
	if f.DeliveryLagMaxMs <= 0 {
		f.DeliveryLagMaxMs = DeliveryLagMaxDefault
	}
	if f.HarmLatencyMaxMs <= 0 {
		f.HarmLatencyMaxMs = HarmLatencyMaxDefault
	}
	return f
}

// CheckFacts runs the checks that hold the history against the run's
// facts, in a fixed order: close-codes, balancer, cut-off, recovery,
// delivery-lag, no-harm, rate-limit.
func CheckFacts(h History, facts Facts) []Check {
	facts = facts.withDefaults()
	clients := byClient(h)
	return []Check{checkCloseCodes(clients, facts), checkBalancer(h, facts), checkCutOff(clients, facts), checkRecovery(h, facts),
		checkDeliveryLag(h, facts), checkNoHarm(h, facts), checkRateLimit(clients, facts), checkJoinLive(h, facts)}
}

// clientRecords is a history split into each client's records, clients in
// order of first appearance.
type clientRecords struct {
	names   []string
	records map[string][]Record
}

// byClient splits a history once for the checks that follow each client.
func byClient(h History) clientRecords {
	c := clientRecords{records: map[string][]Record{}}
	for _, r := range h {
		if _, seen := c.records[r.Client]; !seen {
			c.names = append(c.names, r.Client)
		}
		c.records[r.Client] = append(c.records[r.Client], r)
	}
	return c
}

// countsText writes a code count like "4000×3, 1006×2" in code order.
func countsText(counts map[int]int) string {
	codes := make([]int, 0, len(counts))
	for code := range counts {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	parts := make([]string, len(codes))
	for i, code := range codes {
		parts[i] = fmt.Sprintf("%d×%d", code, counts[code])
	}
	return strings.Join(parts, ", ")
}
