package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"chatlab/system/client"
	"chatlab/system/protocol"
)

// Limits of a run.
const (
	clientsMax = 100000
	roomsMax   = 10000
	// sendRatePerClientMax is far above any node's per-connection limit;
	// beyond it a value is a typo.
	sendRatePerClientMax = 1000
	durationMax          = 24 * time.Hour
	stepsMax             = 64
	// readyPollInterval paces the checks that clients have joined and that
	// the run has settled.
	readyPollInterval = 50 * time.Millisecond
)

// Defaults.
const (
	connectsPerSecondDefault = 500
	joinWaitDefault          = 60 * time.Second
	settleWaitDefault        = 10 * time.Second
	namePrefixDefault        = "load"
)

// Config describes a load run.
type Config struct {
	// URLs are the WebSocket endpoints (a balancer or nodes); client i
	// dials URLs[i % len] first and moves on to the next on failure.
	URLs []string
	// Token, when set, is every client's bearer token (one user); otherwise
	// each client is its own user via ?user= (nodes under --auth off).
	Token   string
	Clients int
	// Rooms are shared round-robin: client i joins room i % Rooms.
	Rooms int
	// Senders is how many clients send (the first ones; default all).
	Senders int
	// SendRatePerClient is sends per second per sender; 0 only receives.
	SendRatePerClient float64
	// StepRates, for RunSteps, are the sending rates per sender of
	// successive steps on the same connections (SendRatePerClient is then
	// ignored).
	StepRates []float64
	// MessageBytes is each message body's size.
	MessageBytes int
	// Duration is how long senders send (or idle clients stay connected).
	Duration time.Duration
	// Idle opens the connections, joins, and holds them for Duration
	// without sending: the memory benchmark's clients.
	Idle bool
	// ConnectsPerSecond paces the opening of connections (default 500).
	ConnectsPerSecond int
	// JoinWait bounds how long the run waits for every client to join
	// before it sends (default 60 s).
	JoinWait time.Duration
	// SettleWait bounds the wait after sending for acks and deliveries to
	// finish (default 10 s).
	SettleWait time.Duration
	// Seed drives the clients' jitter and the senders' phases.
	Seed uint64
	// NamePrefix names the clients PREFIX-0, PREFIX-1, ... (default: load
	// and the start time in base 36). Send ids are client name + counter,
	// and Redis drops an id it has seen, so two runs against one cluster
	// must not share a prefix.
	NamePrefix string
	// Machine is the template for every client's state machine (User,
	// Name and Random are set per client).
	Machine client.Config
	// Record, when set, gets every client's events: the run's history.
	Record Recorder
	// OnJoined, when set, is called once every client has joined (the
	// idle benchmark measures the node there).
	OnJoined func()
	// OnStep, when set, is called as each step starts sending, with the
	// step's index (0 for Run's single step).
	OnStep func(step int)
}

func (cfg Config) withDefaults() (Config, error) {
	if cfg.ConnectsPerSecond == 0 {
		cfg.ConnectsPerSecond = connectsPerSecondDefault
	}
	if cfg.JoinWait == 0 {
		cfg.JoinWait = joinWaitDefault
	}
	if cfg.SettleWait == 0 {
		cfg.SettleWait = settleWaitDefault
	}
	if cfg.NamePrefix == "" {
		cfg.NamePrefix = namePrefixDefault + strconv.FormatInt(time.Now().UnixMilli(), 36)
	}
	if cfg.Rooms == 0 {
		cfg.Rooms = 1
	}
	if cfg.Senders == 0 && !cfg.Idle {
		cfg.Senders = cfg.Clients
	}
	if cfg.Idle {
		cfg.Senders, cfg.SendRatePerClient, cfg.StepRates = 0, 0, nil
	}
	return cfg, cfg.check()
}

// Check says what is wrong with a configuration, after defaults, in a
// message naming the field; nil when Run would take it.
func (cfg Config) Check() error {
	_, err := cfg.withDefaults()
	return err
}

// check refuses a configuration with a message naming the field.
func (cfg Config) check() error {
	for _, rate := range cfg.StepRates {
		if rate < 0 || rate > sendRatePerClientMax {
			return fmt.Errorf("step rate %g/s: want 0 to %d per client", rate, sendRatePerClientMax)
		}
	}
	switch {
	case len(cfg.URLs) == 0:
		return errors.New("no URL to connect to")
	case cfg.Clients < 1 || cfg.Clients > clientsMax:
		return fmt.Errorf("clients %d: want 1 to %d", cfg.Clients, clientsMax)
	case cfg.Rooms < 1 || cfg.Rooms > roomsMax:
		return fmt.Errorf("rooms %d: want 1 to %d", cfg.Rooms, roomsMax)
	case cfg.Senders < 0 || cfg.Senders > cfg.Clients:
		return fmt.Errorf("senders %d: want 0 to the %d clients", cfg.Senders, cfg.Clients)
	case cfg.SendRatePerClient < 0 || cfg.SendRatePerClient > sendRatePerClientMax:
		return fmt.Errorf("send rate %g/s: want 0 to %d per client", cfg.SendRatePerClient, sendRatePerClientMax)
	case len(cfg.StepRates) > stepsMax:
		return fmt.Errorf("%d step rates: at most %d", len(cfg.StepRates), stepsMax)
	case cfg.MessageBytes < 0 || cfg.MessageBytes > protocol.BodyBytesMax:
		return fmt.Errorf("message size %d bytes: want 0 to %d", cfg.MessageBytes, protocol.BodyBytesMax)
	case cfg.Duration <= 0 || cfg.Duration > durationMax:
		return fmt.Errorf("duration %s: want more than 0 and at most %s", cfg.Duration, durationMax)
	case cfg.ConnectsPerSecond < 1:
		return fmt.Errorf("connects per second %d: want at least 1", cfg.ConnectsPerSecond)
	case len(cfg.NamePrefix)+1+len(strconv.Itoa(clientsMax)) > protocol.IDBytesMax/2:
		return fmt.Errorf("name prefix %q is too long", cfg.NamePrefix)
	}
	return nil
}

// Run opens the clients, joins them to their rooms, drives the senders for
// Duration, waits for the run to settle and returns its summary. An error
// means the run could not start (bad config, clients that never joined);
// a run that lost messages returns a summary that says so.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	if err := cfg.Check(); err != nil {
		return Summary{}, err
	}
	if len(cfg.StepRates) > 0 {
		return Summary{}, errors.New("step rates: use RunSteps")
	}
	summaries, err := RunSteps(ctx, cfg)
	if err != nil {
		return Summary{}, err
	}
	return summaries[0], nil
}

// RunSteps is Run with the senders driven once per rate of
// Config.StepRates (or once at SendRatePerClient when there are none),
// on the same connections: each step sends for Duration, waits for the
// run to settle, and gets a summary of its own (counts, latency and
// rates of that step only).
func RunSteps(ctx context.Context, cfg Config) ([]Summary, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tally := newTally(cfg.Record)
	clients := make([]*Client, 0, cfg.Clients)
	defer func() {
		cancel()
		for _, c := range clients {
			<-c.Done()
		}
	}()
	members := map[string]int{}
	connectStartedAt := time.Now()
	pace := time.NewTicker(time.Second / time.Duration(cfg.ConnectsPerSecond))
	defer pace.Stop()
	for i := range cfg.Clients {
		c := cfg.newClient(i, tally.observe)
		clients = append(clients, c)
		go c.Run(ctx)
		room := roomName(i % cfg.Rooms)
		members[room]++
		c.Join(room)
		select {
		case <-pace.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err := waitJoined(ctx, clients, cfg.JoinWait); err != nil {
		return nil, err
	}
	connectMs := time.Since(connectStartedAt).Milliseconds()
	if cfg.OnJoined != nil {
		cfg.OnJoined()
	}
	rates := cfg.StepRates
	if len(rates) == 0 {
		rates = []float64{cfg.SendRatePerClient}
	}
	summaries := make([]Summary, 0, len(rates))
	for i, rate := range rates {
		step := cfg
		if cfg.OnStep != nil {
			cfg.OnStep(i)
		}
		step.SendRatePerClient = rate
		tally.reset()
		sendStartedAt := time.Now()
		step.drive(ctx, clients[:step.Senders])
		sendMs := time.Since(sendStartedAt).Milliseconds()
		settled := settle(ctx, clients, tally, step.SettleWait)
		summary := summarize(step, clients, tally, members)
		summary.ConnectMs, summary.SendMs, summary.Settled = connectMs, sendMs, settled
		summary.rates()
		summaries = append(summaries, summary)
		if ctx.Err() != nil {
			return summaries, ctx.Err()
		}
	}
	return summaries, nil
}

func roomName(i int) string { return "room-" + strconv.Itoa(i) }

func (cfg Config) newClient(i int, record Recorder) *Client {
	name := cfg.NamePrefix + "-" + strconv.Itoa(i)
	machine := cfg.Machine
	machine.User, machine.Name, machine.Random = name, name, nil
	urls := make([]string, 0, len(cfg.URLs))
	for j := range cfg.URLs {
		urls = append(urls, cfg.URLs[(i+j)%len(cfg.URLs)])
	}
	return NewClient(ClientConfig{Machine: machine, Seed: cfg.Seed*clientsMax + uint64(i), URLs: urls, Token: cfg.Token, Record: record})
}

// waitJoined waits until every client holds a joined room.
func waitJoined(ctx context.Context, clients []*Client, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		joined := 0
		for _, c := range clients {
			if s := c.Snapshot(); len(s.Rooms) > 0 && s.Rooms[0].Joined {
				joined++
			}
		}
		if joined == len(clients) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d clients joined within %s", joined, len(clients), wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(readyPollInterval):
		}
	}
}

// drive has each sender send at its rate for Duration, phases spread so
// that the senders do not fire together.
func (cfg Config) drive(ctx context.Context, senders []*Client) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	if len(senders) == 0 || cfg.SendRatePerClient == 0 {
		<-ctx.Done()
		return
	}
	body := strings.Repeat("x", cfg.MessageBytes)
	interval := time.Duration(float64(time.Second) / cfg.SendRatePerClient)
	random := rand.New(rand.NewPCG(cfg.Seed, 0x10ad))
	var senderGoroutines sync.WaitGroup
	for _, c := range senders {
		phase := time.Duration(random.Int64N(int64(interval)))
		room := c.Snapshot().Rooms[0].Room
		senderGoroutines.Go(func() { sendEvery(ctx, c, room, body, phase, interval) })
	}
	senderGoroutines.Wait()
}

func sendEvery(ctx context.Context, c *Client, room, body string, phase, interval time.Duration) {
	select {
	case <-time.After(phase):
	case <-ctx.Done():
		return
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		c.Send(room, body)
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return
		}
	}
}

// settle waits until no send is pending and deliveries stopped growing,
// or wait ends; true when it settled.
func settle(ctx context.Context, clients []*Client, tally *tally, wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	var lastDelivered uint64
	quietPolls := 0
	// quietPollsSettled: deliveries unchanged over this many polls (half a
	// second) with nothing pending means the run is over.
	const quietPollsSettled = 10
	for time.Now().Before(deadline) {
		pending := 0
		for _, c := range clients {
			pending += len(c.Snapshot().Pending)
		}
		counts, _ := tally.snapshot()
		if pending == 0 && counts.Delivered == lastDelivered {
			quietPolls++
			if quietPolls >= quietPollsSettled {
				return true
			}
		} else {
			quietPolls = 0
		}
		lastDelivered = counts.Delivered
		select {
		case <-ctx.Done():
			return false
		case <-time.After(readyPollInterval):
		}
	}
	return false
}
