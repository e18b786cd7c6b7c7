package node

import (
	"sort"
	"strconv"

	"chatlab/system/protocol"
)

// RecentLenMaxDefault is how many of a room's last messages a node keeps
// for members that resume (Config.RecentLenMax), unless configured.
const RecentLenMaxDefault = 1024

// RateBurstDefault and RatePerSecondDefault are a connection's send
// allowance (Config.RateBurst, Config.RatePerSecond), unless configured:
// sends at once, and sends a second the allowance refills by.
const (
	RateBurstDefault     = 20
	RatePerSecondDefault = 10
)

// Defaults for Config's limits.
const (
	SendQueueLenMaxDefault  = 256
	fetchLimitDefault       = 256
	roomPollIntervalDefault = 2000
	// BrokerLostGraceMsDefault is Config.BrokerLostGraceMs unless
	// configured.
	BrokerLostGraceMsDefault = 2000
	fetchRetryDefault        = 500
	// pendingLenMax bounds the out-of-order messages a room holds while it
	// fills a gap; beyond it arrivals are dropped and the fetch brings them.
	pendingLenMax = 1024
	// publishesInFlightMax bounds broker publishes awaiting a reply; beyond
	// it sends are refused as unavailable and the client retries.
	publishesInFlightMax = 4096
)

// Config holds a node's identity, delivery mode and limits. Zero limits take
// their defaults.
type Config struct {
	ID              string
	Delivery        Delivery
	SendQueueLenMax int
	RateBurst       int
	RatePerSecond   int
	FetchLimit      int
	// RecentLenMax is how many of a room's last messages the node keeps in
	// memory, so that a member resuming within them needs no fetch.
	RecentLenMax int
	// RoomPollIntervalMs is how often each room with members asks the
	// broker for anything it missed: the safety net for a lost last message
	// of a burst, which no later message would reveal as a gap.
	RoomPollIntervalMs int64
	// FetchRetryMs is how long a failed history fetch waits before retrying.
	FetchRetryMs int64
	// FramesPerSecond and FrameBurst bound the frames of every type one
	// connection may send (sends also have RateBurst and RatePerSecond);
	// BrokerCallsPerUserMax bounds the broker calls one user's connections
	// may have in flight together. Beyond either the client is told to
	// slow down, and a connection refused FrameBurst times in a row is
	// closed (4008).
	FramesPerSecond       int
	FrameBurst            int
	BrokerCallsPerUserMax int
	// BrokerLostGraceMs is how long the broker link may be down before the
	// node gives up on serving its clients: it then closes every
	// connection with 4000 (protocol.ReasonBrokerLost), so that they resume
	// on nodes that can deliver to them, and refuses new ones the same way
	// until BrokerUp. Zero takes BrokerLostGraceMsDefault; below zero the
	// node keeps its clients through any outage.
	BrokerLostGraceMs int64
	// Random is the node's injected source of randomness (epoch candidates).
	Random func() uint64
	// Mutation breaks the node on purpose, for checker tests only.
	Mutation Mutation
}

// Counters are the node's running totals, for metrics.
type Counters struct {
	FramesIn      uint64 `json:"frames_in"`
	FramesOut     uint64 `json:"frames_out"`
	Publishes     uint64 `json:"publishes"`
	Deliveries    uint64 `json:"deliveries"`
	RateLimited   uint64 `json:"rate_limited"`
	SlowConsumers uint64 `json:"slow_consumers"`
	Rejects       uint64 `json:"rejects"`
	Resets        uint64 `json:"resets"`
	Fetches       uint64 `json:"fetches"`
	// PolicyCloses counts connections closed (4008) for not slowing down.
	PolicyCloses uint64 `json:"policy_closes"`
}

// Node is one chat node's state.
type Node struct {
	cfg      Config
	nowMs    int64
	draining bool
	brokerUp bool
	// brokerDownAtMs is when the broker link went down (valid while it is
	// down and brokerDownKnown: a new node learns it at its first Tick);
	// brokerLost is set once it has been down BrokerLostGraceMs.
	brokerDownAtMs  int64
	brokerDownKnown bool
	brokerLost      bool
	sessions        map[ConnID]*session
	rooms           map[string]*room
	roomNames       []string // sorted, so that ticks visit rooms in a fixed order

	requestLast RequestID
	publishes   map[RequestID]pendingPublish
	// publishOrders holds, per room and sender (orderOf), the publishes
	// waiting behind the one in flight; an order is present while one of
	// it is in flight.
	publishOrders  map[publishOrder][]PublishRequest
	fetches        map[RequestID]pendingFetch
	epochBase      string
	epochCounter   uint64
	ready          Ready
	cutoffs        []ConnID // slow consumers to close at the next Ready
	mutation       mutationState
	counters       Counters
	roomGeneration uint64
	// caller is the session whose frame is being handled, so that the
	// broker calls it causes count against its user's share; nil otherwise.
	caller *session
	// brokerCalls counts each user's broker calls in flight (looked up,
	// never iterated).
	brokerCalls map[string]int
	// expiryNextMs is the earliest credential expiry of an open session
	// (0: none due), so that Tick looks for expired sessions only then.
	expiryNextMs int64
}

// New returns a node with no connections. The broker link starts down: the
// runtime calls BrokerUp once it can reach the broker.
func New(cfg Config) *Node {
	if cfg.Random == nil {
		panic("node: Config.Random is required")
	}
	if cfg.Delivery == "" {
		cfg.Delivery = Recover
	}
	setDefault(&cfg.SendQueueLenMax, SendQueueLenMaxDefault)
	setDefault(&cfg.RateBurst, RateBurstDefault)
	setDefault(&cfg.RatePerSecond, RatePerSecondDefault)
	setDefault(&cfg.FetchLimit, fetchLimitDefault)
	// Every send is a frame: the frame allowance is never below the send
	// allowance, with room for joins and leaves besides.
	setDefault(&cfg.FramesPerSecond, max(FramesPerSecondDefault, 2*cfg.RatePerSecond))
	setDefault(&cfg.FrameBurst, max(FrameBurstDefault, 2*cfg.RateBurst))
	setDefault(&cfg.BrokerCallsPerUserMax, BrokerCallsPerUserMaxDefault)
	setDefault(&cfg.RecentLenMax, RecentLenMaxDefault)
	if cfg.RoomPollIntervalMs <= 0 {
		cfg.RoomPollIntervalMs = roomPollIntervalDefault
	}
	if cfg.FetchRetryMs <= 0 {
		cfg.FetchRetryMs = fetchRetryDefault
	}
	if cfg.BrokerLostGraceMs == 0 {
		cfg.BrokerLostGraceMs = BrokerLostGraceMsDefault
	}
	return &Node{
		cfg:           cfg,
		sessions:      map[ConnID]*session{},
		rooms:         map[string]*room{},
		publishes:     map[RequestID]pendingPublish{},
		publishOrders: map[publishOrder][]PublishRequest{},
		fetches:       map[RequestID]pendingFetch{},
		brokerCalls:   map[string]int{},
		epochBase:     cfg.ID + "." + strconv.FormatUint(cfg.Random(), 36),
	}
}

func setDefault(value *int, fallback int) {
	if *value <= 0 {
		*value = fallback
	}
}

// Ready returns everything to do since the last call and clears it.
func (n *Node) Ready() Ready {
	for _, conn := range n.cutoffs {
		if s := n.sessions[conn]; s != nil {
			n.closeSession(s, protocol.CloseReconnect, protocol.ReasonSlowConsumer)
		}
	}
	n.cutoffs = n.cutoffs[:0]
	ready := n.ready
	n.ready = Ready{}
	return ready
}

// Advance hands back the lists of a Ready the host has carried out, so
// that the next Ready reuses their arrays instead of allocating new ones
// (a fanout of one message to a thousand members would otherwise grow a
// fresh frame list to a thousand entries every time). The host calls it
// right after carrying out rd, before the next input, and keeps no part
// of rd's lists afterwards (the frames' Data stay the host's). Calling it
// is optional; a Ready not handed back is simply not reused.
func (n *Node) Advance(rd Ready) {
	if !n.ready.Empty() {
		return // an input came first: its effects are in n.ready already
	}
	clear(rd.Frames)
	clear(rd.Closes)
	clear(rd.Publishes)
	clear(rd.Fetches)
	clear(rd.Subscribes)
	clear(rd.Unsubscribes)
	n.ready = Ready{Frames: rd.Frames[:0], Closes: rd.Closes[:0], Publishes: rd.Publishes[:0], Fetches: rd.Fetches[:0],
		Subscribes: rd.Subscribes[:0], Unsubscribes: rd.Unsubscribes[:0], LatenciesMs: rd.LatenciesMs[:0]}
}

// Tick advances the node's clock (milliseconds, from any fixed origin) and
// runs what is due: credential expiries, the broker-lost grace, history
// polls and fetch retries.
func (n *Node) Tick(nowMs int64) {
	if nowMs > n.nowMs {
		n.nowMs = nowMs
	}
	n.expireSessions()
	if !n.brokerUp {
		n.brokerDownTick()
	}
	if n.cfg.Delivery != Recover || !n.brokerUp {
		return
	}
	for _, name := range n.roomNames {
		n.rooms[name].tick(n)
	}
}

// NowMs is the node's clock as of the last Tick.
func (n *Node) NowMs() int64 { return n.nowMs }

func (n *Node) nextRequest() RequestID {
	n.requestLast++
	return n.requestLast
}

// epochCandidate is unique per request, so that a room whose epoch was lost
// with the broker's data never gets an old epoch back.
func (n *Node) epochCandidate() string {
	n.epochCounter++
	return n.epochBase + "." + strconv.FormatUint(n.epochCounter, 36)
}

func (n *Node) send(conn ConnID, frame any) {
	s := n.sessions[conn]
	if s == nil {
		return
	}
	n.sendData(s, protocol.Encode(frame))
}

// sendData queues one frame for a session and cuts the session off when its
// unflushed frames pass the limit: a slow consumer must not grow memory. The
// close itself waits for Ready, so that no room's member list changes while
// a delivery walks it.
func (n *Node) sendData(s *session, data []byte) {
	if s.cut {
		return
	}
	if s.unflushed >= n.cfg.SendQueueLenMax {
		n.counters.SlowConsumers++
		s.cut = true
		n.cutoffs = append(n.cutoffs, s.conn)
		return
	}
	s.unflushed++
	n.counters.FramesOut++
	n.ready.Frames = append(n.ready.Frames, OutFrame{Conn: s.conn, Data: data})
}

func (n *Node) addRoomName(name string) {
	i := sort.SearchStrings(n.roomNames, name)
	n.roomNames = append(n.roomNames, "")
	copy(n.roomNames[i+1:], n.roomNames[i:])
	n.roomNames[i] = name
}

func (n *Node) removeRoomName(name string) {
	i := sort.SearchStrings(n.roomNames, name)
	if i < len(n.roomNames) && n.roomNames[i] == name {
		n.roomNames = append(n.roomNames[:i], n.roomNames[i+1:]...)
	}
}
