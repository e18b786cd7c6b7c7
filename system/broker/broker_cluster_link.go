package broker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/redis/go-redis/v9"

	"chatlab/system/broker/redisscript"
)

// linkProbeKey places the connection of a session that holds no room: on
// the master of its slot, so that LinkUp still means the cluster answered.
const linkProbeKey = redisscript.KeyPrefix + "link-probe"

// clusterLink holds the subscriptions of every room on Redis Cluster by
// sharded pub/sub: each room's shard channel is SSUBSCRIBEd on the master
// that owns its slot, on one connection per master (go-redis's own
// ClusterClient.SSubscribe puts every channel on the connection of the first
// one's slot, which cannot work across shards).
//
// Like link, it runs sessions, and its bookkeeping (rooms held, Subscribe
// calls awaiting confirmation, what the consumer was told) is link's: a
// session is one connection per master serving a held room, every room
// subscribed on its master, each connection pinged; it is up once every
// connection answered its first PING after its SSUBSCRIBEs. A session ends
// as soon as any of its connections fails or stays silent for linkTimeout
// (a master died: its replica takes over), or a room's channel is
// unsubscribed by the cluster (its slot moved to another master), or an
// SSUBSCRIBE is refused (MOVED: the slot map was stale). Every held room's
// messages may have been lost then: the consumer gets LinkDown and, once the
// next session (on a reloaded slot map) is up, LinkUp, and catches every
// room up from history.
type clusterLink struct {
	*link   // bookkeeping only: its own run goroutine is not started
	cluster *redis.ClusterClient
	current *clusterSession // guarded by link.mu; nil between sessions
}

// clusterSession is one session's connections. Its maps are guarded by
// link.mu.
type clusterSession struct {
	shards map[string]*shard // by master address
	// roomShard is where each room was subscribed in this session.
	roomShard map[string]*shard
	// unsubscribing counts, per room, the SUNSUBSCRIBEs this link sent and
	// the cluster has not confirmed: any other is the cluster's own.
	unsubscribing map[string]int
	over          bool // ended: no new connection may join it
	inbox         chan shardRead
	ended         chan struct{} // closed when the session ends
	workers       sync.WaitGroup
}

// shard is one master's subscription connection.
type shard struct {
	addr   string
	pubsub *redis.PubSub
	ponged bool // owned by the run goroutine
}

// shardRead is what a connection's reader received, or why it stopped.
type shardRead struct {
	shard   *shard
	message any
	err     error
}

func startClusterLink(cluster *redis.ClusterClient, timing linkTiming, eventsLenMax int) *clusterLink {
	c := &clusterLink{
		link: &link{
			timing:  timing,
			events:  make(chan Event, eventsLenMax),
			rooms:   make(map[string]struct{}),
			waiters: make(map[string][]chan error),
			stop:    make(chan struct{}),
			done:    make(chan struct{}),
		},
		cluster: cluster,
	}
	go c.run()
	return c
}

func (c *clusterLink) run() {
	// The slot map may be what failed a session (a failover, a moved
	// slot): the next one asks the cluster again.
	c.runSessions(c.serve, func() { c.cluster.ReloadState(context.Background()) })
}

// serve runs one session until it fails or the link is closed, and reports
// whether it came up and why it ended.
func (c *clusterLink) serve() (bool, error) {
	session := &clusterSession{shards: make(map[string]*shard), roomShard: make(map[string]*shard),
		unsubscribing: make(map[string]int), inbox: make(chan shardRead), ended: make(chan struct{})}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false, ErrClosed
	}
	c.current = session
	rooms := slices.Sorted(maps.Keys(c.rooms))
	c.mu.Unlock()
	defer c.end(session)

	ctx, cancel := context.WithTimeout(context.Background(), c.timing.linkTimeout)
	err := c.start(ctx, session, rooms)
	cancel()
	if err != nil {
		return false, fmt.Errorf("start session: %w", err)
	}
	cameUp := false
	for {
		read := <-session.inbox
		if read.err != nil {
			return cameUp, fmt.Errorf("read shard %s: %w", read.shard.addr, read.err)
		}
		switch message := read.message.(type) {
		case *redis.Pong:
			read.shard.ponged = true
			if !c.up && c.allPonged(session) {
				c.up, cameUp = true, true
			}
		case *redis.Subscription:
			if err := c.subscription(session, message); err != nil {
				return cameUp, err
			}
		case *redis.Message:
			c.message(message)
		}
		c.report()
	}
}

// start subscribes every room on its master and pings every connection.
func (c *clusterLink) start(ctx context.Context, session *clusterSession, rooms []string) error {
	if len(rooms) == 0 {
		master, err := c.cluster.MasterForKey(ctx, linkProbeKey)
		if err != nil {
			return fmt.Errorf("find a master: %w", err)
		}
		if _, err := c.shardOf(session, master); err != nil {
			return err
		}
	}
	for _, room := range rooms {
		channel := redisscript.ShardChannel(room)
		master, err := c.cluster.MasterForKey(ctx, channel)
		if err != nil {
			return fmt.Errorf("find the master of room %q: %w", room, err)
		}
		shard, err := c.shardOf(session, master)
		if err != nil {
			return err
		}
		c.mu.Lock()
		session.roomShard[room] = shard
		c.mu.Unlock()
		// One SSUBSCRIBE per room: Redis refuses one naming channels of
		// several slots.
		if err := shard.pubsub.SSubscribe(ctx, channel); err != nil {
			return fmt.Errorf("subscribe room %q on %s: %w", room, shard.addr, err)
		}
	}
	c.mu.Lock()
	shards := slices.Collect(maps.Values(session.shards))
	c.mu.Unlock()
	for _, shard := range shards {
		if err := shard.pubsub.Ping(ctx); err != nil {
			return fmt.Errorf("ping %s: %w", shard.addr, err)
		}
	}
	return nil
}

// shardOf is the session's connection to master, opened (with its reader
// and pinger) if it has none yet.
func (c *clusterLink) shardOf(session *clusterSession, master *redis.Client) (*shard, error) {
	addr := master.Options().Addr
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || session.over {
		return nil, ErrLinkDown
	}
	if existing, ok := session.shards[addr]; ok {
		return existing, nil
	}
	// Without channels this does no I/O: the first command dials.
	opened := &shard{addr: addr, pubsub: master.SSubscribe(context.Background())}
	session.shards[addr] = opened
	session.workers.Go(func() { c.read(session, opened) })
	session.workers.Go(func() { c.ping(opened.pubsub, session.ended) })
	return opened, nil
}

// read passes what one connection receives to the session, until it fails.
func (c *clusterLink) read(session *clusterSession, shard *shard) {
	for {
		message, err := shard.pubsub.ReceiveTimeout(context.Background(), c.timing.linkTimeout)
		select {
		case session.inbox <- shardRead{shard: shard, message: message, err: err}:
		case <-session.ended:
			return
		}
		if err != nil {
			return
		}
	}
}

func (c *clusterLink) allPonged(session *clusterSession) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, shard := range session.shards {
		if !shard.ponged {
			return false
		}
	}
	return true
}

// errSlotMoved: the cluster unsubscribed a held room's shard channel, as a
// master does when the room's slot leaves it.
var errSlotMoved = errors.New("the cluster unsubscribed a held room: its slot moved")

// subscription handles a confirmation, or the cluster's own unsubscribe.
func (c *clusterLink) subscription(session *clusterSession, subscription *redis.Subscription) error {
	room, ok := redisscript.RoomOfShardChannel(subscription.Channel)
	if !ok {
		return nil
	}
	switch subscription.Kind {
	case "ssubscribe":
		// link's bookkeeping knows rooms by their plain channel.
		c.confirm(&redis.Subscription{Kind: "subscribe", Channel: channelOf(room), Count: subscription.Count})
	case "sunsubscribe":
		c.mu.Lock()
		defer c.mu.Unlock()
		if session.unsubscribing[room] > 0 {
			session.unsubscribing[room]--
			return nil
		}
		if _, held := c.rooms[room]; held {
			return fmt.Errorf("room %q: %w", room, errSlotMoved)
		}
	}
	return nil
}

// message passes a room's message to link's delivery, under the room's
// plain channel.
func (c *clusterLink) message(message *redis.Message) {
	room, ok := redisscript.RoomOfShardChannel(message.Channel)
	if !ok {
		return
	}
	c.deliver(&redis.Message{Channel: channelOf(room), Payload: message.Payload})
}

// end closes a session's connections and fails the Subscribe calls still
// waiting on it.
func (c *clusterLink) end(session *clusterSession) {
	c.mu.Lock()
	c.current = nil
	session.over = true
	waiters := c.waiters
	c.waiters = make(map[string][]chan error)
	shards := slices.Collect(maps.Values(session.shards))
	c.mu.Unlock()
	close(session.ended)
	for _, list := range waiters {
		for _, waiter := range list {
			waiter <- ErrLinkDown
		}
	}
	for _, shard := range shards {
		// Over whatever Close says, as in link.end.
		_ = shard.pubsub.Close()
	}
	session.workers.Wait()
}

func (c *clusterLink) subscribe(ctx context.Context, room string) error {
	channel := redisscript.ShardChannel(room)
	confirmed := make(chan error, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return fmt.Errorf("subscribe room %q: %w", room, ErrClosed)
	}
	c.rooms[room] = struct{}{}
	session := c.current
	if session == nil {
		c.mu.Unlock()
		return fmt.Errorf("subscribe room %q: %w", room, ErrLinkDown)
	}
	c.waiters[channelOf(room)] = append(c.waiters[channelOf(room)], confirmed)
	c.mu.Unlock()
	fail := func(err error) error {
		c.withdraw(channelOf(room), confirmed)
		// The room is held but not subscribed in this session: end it, so
		// that the next one subscribes it and the consumer catches up.
		c.failSession(session)
		return fmt.Errorf("subscribe room %q: %w", room, err)
	}
	master, err := c.cluster.MasterForKey(ctx, channel)
	if err != nil {
		return fail(err)
	}
	shard, err := c.shardOf(session, master)
	if err != nil {
		return fail(err)
	}
	c.mu.Lock()
	session.roomShard[room] = shard
	c.mu.Unlock()
	if err := shard.pubsub.SSubscribe(ctx, channel); err != nil {
		return fail(err)
	}
	select {
	case err := <-confirmed:
		if err != nil {
			return fmt.Errorf("subscribe room %q: %w", room, err)
		}
		return nil
	case <-ctx.Done():
		c.withdraw(channelOf(room), confirmed)
		return fmt.Errorf("subscribe room %q: %w", room, ctx.Err())
	}
}

// failSession ends a session from outside its run goroutine: closing its
// connections makes their readers fail it.
func (c *clusterLink) failSession(session *clusterSession) {
	c.mu.Lock()
	shards := slices.Collect(maps.Values(session.shards))
	c.mu.Unlock()
	for _, shard := range shards {
		_ = shard.pubsub.Close() // the reader sees the connection closed
	}
}

func (c *clusterLink) unsubscribe(ctx context.Context, room string) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return fmt.Errorf("unsubscribe room %q: %w", room, ErrClosed)
	}
	delete(c.rooms, room)
	var shard *shard
	if session := c.current; session != nil {
		if shard = session.roomShard[room]; shard != nil {
			delete(session.roomShard, room)
			session.unsubscribing[room]++
		}
	}
	c.mu.Unlock()
	if shard == nil {
		// Not subscribed in this session; the next one leaves it out.
		return nil
	}
	if err := shard.pubsub.SUnsubscribe(ctx, redisscript.ShardChannel(room)); err != nil {
		// Delivery has stopped anyway: deliver drops rooms not held.
		return fmt.Errorf("unsubscribe room %q: %w", room, err)
	}
	return nil
}

func (c *clusterLink) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.done
		return
	}
	c.closed = true
	session := c.current
	c.mu.Unlock()
	close(c.stop)
	if session != nil {
		// Wakes the readers: the session ends and run sees stop.
		c.failSession(session)
	}
	<-c.done
}
