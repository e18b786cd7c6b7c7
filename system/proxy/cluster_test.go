package proxy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gorilla/websocket"

	"chatlab/system/balance"
	"chatlab/system/broker"
	"chatlab/system/protocol"
	"chatlab/system/server"
)

// The cluster test: three real nodes (system/server) on one miniredis,
// this balancer in front, clusterClients listeners that resume after every
// reconnect, and one sender per room writing straight to n1 all along.
const (
	clusterClients = 300
	clusterRooms   = 3
	// clusterSendInterval: each room gets a message every 50 ms throughout.
	clusterSendInterval = 50 * time.Millisecond
	clusterHealthMs     = 200
	clusterWait         = 30 * time.Second
)

type cluster struct {
	t       *testing.T
	redis   *miniredis.Miniredis
	nodes   map[string]*server.Server
	brokers map[string]*broker.Redis
	addrs   map[string]string
	proxy   *Proxy
}

func (c *cluster) startNode(name, listen string) {
	c.t.Helper()
	b, err := broker.NewRedis(broker.RedisConfig{URL: "redis://" + c.redis.Addr()})
	if err != nil {
		c.t.Fatal(err)
	}
	srv, err := server.Start(context.Background(), server.Config{ID: name, Listen: listen, Broker: b,
		RateBurst: 1000, RatePerSecond: 1000, Logger: quietLogger()})
	if err != nil {
		c.t.Fatal(err)
	}
	c.nodes[name], c.brokers[name], c.addrs[name] = srv, b, srv.Addr()
	eventually(c.t, name+" ready", func() bool {
		response, err := http.Get("http://" + srv.Addr() + "/readyz")
		if err != nil {
			return false
		}
		response.Body.Close()
		return response.StatusCode == http.StatusOK
	})
}

func (c *cluster) stopNode(name string) {
	c.nodes[name].Close()
	c.brokers[name].Close()
	delete(c.nodes, name)
}

func (c *cluster) close() {
	c.proxy.Close()
	for name := range c.nodes {
		c.stopNode(name)
	}
	c.redis.Close()
}

// listener is a client that joins one room through the balancer, redials
// at once whenever its connection ends (rejoining with since = the last seq
// it saw) and records every seq it is given.
type listener struct {
	name, room string
	url        string

	mu        sync.Mutex
	node      string // where it is connected now ("" while not)
	joinedAt  uint64 // head at its first join: it owes every seq after it
	joined    bool
	last      uint64
	epoch     string
	seen      map[uint64]int
	resets    int
	reconnect int
	conn      *websocket.Conn
	stopped   bool
}

func (l *listener) run(wg *sync.WaitGroup) {
	defer wg.Done()
	random := rand.New(rand.NewPCG(uint64(len(l.name)), uint64(l.name[len(l.name)-1])))
	// Each pass is one connection; stop ends the loop.
	for attempt := 0; ; attempt++ {
		l.mu.Lock()
		stopped := l.stopped
		l.mu.Unlock()
		if stopped {
			return
		}
		if attempt > 0 {
			// A little jitter, as a real client spreads its redials.
			time.Sleep(time.Duration(5+random.IntN(50)) * time.Millisecond)
		}
		ws, _, err := websocket.DefaultDialer.Dial(l.url+"?user="+l.name, nil)
		if err != nil {
			continue
		}
		l.serve(ws)
	}
}

func (l *listener) serve(ws *websocket.Conn) {
	defer ws.Close()
	l.mu.Lock()
	l.conn = ws
	join := protocol.Join{Type: protocol.TypeJoin, Room: l.room}
	if l.joined {
		since := l.last
		join.Since, join.Epoch = &since, l.epoch
		l.reconnect++
	}
	l.mu.Unlock()
	if ws.WriteMessage(websocket.TextMessage, protocol.Encode(join)) != nil {
		return
	}
	defer func() {
		l.mu.Lock()
		l.node, l.conn = "", nil
		l.mu.Unlock()
	}()
	// Each pass reads one frame; the connection's end ends the loop.
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		frame, err := protocol.DecodeOutbound(data)
		if err != nil {
			continue
		}
		l.mu.Lock()
		switch frame.Type {
		case protocol.TypeWelcome:
			l.node = frame.Node
		case protocol.TypeJoined:
			if !l.joined {
				l.joined, l.joinedAt, l.last = true, frame.Head, frame.Head
			}
			l.epoch = frame.Epoch
		case protocol.TypeMsg:
			l.seen[frame.Seq]++
			l.last = max(l.last, frame.Seq)
		case protocol.TypeReset:
			l.resets++
		}
		l.mu.Unlock()
	}
}

func (l *listener) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	if l.conn != nil {
		l.conn.Close()
	}
}

// sender writes one message to its room every clusterSendInterval, straight
// to a node, until stopped; then it waits for the answer to every send and
// reports the room's head (the highest acked seq).
func sender(t *testing.T, nodeAddr, room string, stop <-chan struct{}) <-chan uint64 {
	result := make(chan uint64, 1)
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+nodeAddr+"/ws?user=sender-"+room, nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.WriteMessage(websocket.TextMessage, protocol.Encode(protocol.Join{Type: protocol.TypeJoin, Room: room}))
	// answers carries, from the reader to the writer, each ack's seq, or
	// 0 for an error frame (a send refused, say before the join is done):
	// the node answers every send with one or the other.
	answers := make(chan uint64, 1024)
	go func() {
		defer close(answers)
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			frame, err := protocol.DecodeOutbound(data)
			switch {
			case err != nil:
			case frame.Type == protocol.TypeAck:
				answers <- frame.Seq
			case frame.Type == protocol.TypeError && frame.Ref != "":
				answers <- 0
			}
		}
	}()
	go func() {
		ticker := time.NewTicker(clusterSendInterval)
		defer ticker.Stop()
		var head uint64
		sent, answered, refused := 0, 0, 0
		// Each pass sends one message or takes one ack, until stopped.
		for sending := true; sending; {
			select {
			case <-stop:
				sending = false
			case seq := <-answers:
				head, answered = max(head, seq), answered+1
				if seq == 0 {
					refused++
				}
			case <-ticker.C:
				send := protocol.Send{Type: protocol.TypeSend, Room: room, ID: fmt.Sprint("m", sent), Body: fmt.Sprint("message ", sent)}
				if ws.WriteMessage(websocket.TextMessage, protocol.Encode(send)) == nil {
					sent++
				}
			}
		}
		// The last answer, not a pause, says the room's head is final. A
		// send left unanswered is logged, not failed: this test is about
		// the balancer, and the head it owes the listeners is the last ack.
		timeout := time.After(clusterWait)
		for answered < sent {
			select {
			case seq, open := <-answers:
				if !open {
					t.Logf("%s: the sender's connection ended with %d of %d sends answered", room, answered, sent)
					answered = sent
					continue
				}
				head, answered = max(head, seq), answered+1
				if seq == 0 {
					refused++
				}
			case <-timeout:
				t.Logf("%s: %d of %d sends answered after %s", room, answered, sent, clusterWait)
				answered = sent
			}
		}
		ws.Close()
		t.Logf("%s: %d sends, %d refused, head %d", room, sent, refused, head)
		result <- head
	}()
	return result
}

func (c *cluster) connections() map[string]int {
	counts := map[string]int{}
	for _, backend := range c.proxy.State().Balancer.Backends {
		counts[backend.Name] = backend.Connections
	}
	return counts
}

func connectedListeners(listeners []*listener) (connected int, byNode map[string]int) {
	byNode = map[string]int{}
	for _, l := range listeners {
		l.mu.Lock()
		if l.node != "" {
			connected++
			byNode[l.node]++
		}
		l.mu.Unlock()
	}
	return connected, byNode
}

// TestClusterThroughTheBalancer runs the four real-node checks in
// one cluster, one phase after another, with messages flowing throughout.
func TestClusterThroughTheBalancer(t *testing.T) {
	if testing.Short() {
		t.Skip("three real nodes and 300 clients")
	}
	c := &cluster{t: t, redis: miniredis.RunT(t), nodes: map[string]*server.Server{}, brokers: map[string]*broker.Redis{}, addrs: map[string]string{}}
	for _, name := range []string{"n1", "n2", "n3"} {
		c.startNode(name, "127.0.0.1:0")
	}
	p, err := Start(context.Background(), Config{
		Listen: "127.0.0.1:0",
		Balance: balance.Config{
			Backends:                   []balance.Backend{{Name: "n1", Addr: c.addrs["n1"]}, {Name: "n2", Addr: c.addrs["n2"]}, {Name: "n3", Addr: c.addrs["n3"]}},
			Policy:                     balance.LeastConnections,
			HealthIntervalMs:           clusterHealthMs,
			NewConnectionsPerSecondMax: 2000,
			Rebalance:                  true,
			RebalanceSpreadMax:         0.2,
			ShedPerSecondMax:           100,
		},
		// A check that takes a while on a loaded machine is not a dead
		// node: only a refused or failed check may take one down here.
		HealthTimeout: clusterWait,
		CloseWait:     time.Second,
		Logger:        testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	c.proxy = p
	defer c.close()

	stopSending := make(chan struct{})
	var acked []<-chan uint64
	for room := range clusterRooms {
		acked = append(acked, sender(t, c.addrs["n1"], fmt.Sprint("room", room), stopSending))
	}
	var listeners []*listener
	var running sync.WaitGroup
	for i := range clusterClients {
		l := &listener{name: fmt.Sprint("user", i), room: fmt.Sprint("room", i%clusterRooms), url: "ws://" + p.Addr() + "/ws", seen: map[uint64]int{}}
		listeners = append(listeners, l)
		running.Add(1)
		go l.run(&running)
	}
	waitConnected := func(phase string, want func(map[string]int) bool) {
		t.Helper()
		deadline := time.Now().Add(clusterWait)
		for {
			connected, byNode := connectedListeners(listeners)
			if connected == clusterClients && want(byNode) {
				t.Logf("%s: %v", phase, byNode)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d of %d connected, %v (balancer: %v)", phase, connected, clusterClients, byNode, c.connections())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// 1. Least-connections gives each new connection to a backend with
	// the least load, so while every backend stays up and no connection
	// ends, loads never differ by more than one: 300 make exactly 100
	// each. A backend that went down (a health check timed out) or a
	// connection that ended would explain another count.
	waitConnected("spread", func(map[string]int) bool { return true })
	for name, count := range c.connections() {
		if count != clusterClients/3 {
			state := p.State().Balancer
			t.Errorf("spread: %s holds %d of %d, want %d (balancer counters %+v, backends %+v)",
				name, count, clusterClients, clusterClients/3, state.Counters, state.Backends)
		}
	}

	// 2. Kill n3: its clients land on n1 and n2, and n3 is down. A down
	// backend is never picked: fresh clients dialled now all land on n1
	// and n2 and n3's picks stay where they were.
	n3Addr := c.addrs["n3"]
	c.stopNode("n3")
	waitConnected("n3 killed", func(byNode map[string]int) bool { return byNode["n3"] == 0 })
	eventually(t, "n3 marked down", func() bool { return !backendState(p, "n3").Up })
	picksAfter := backendState(p, "n3").Counters.Picks
	for i := range 6 {
		ws, welcome := dialFrame(t, p, fmt.Sprint("probe", i))
		if welcome.Node == "n3" {
			t.Errorf("probe %d landed on n3 while it was down", i)
		}
		ws.Close()
	}
	if picks := backendState(p, "n3").Counters.Picks; picks != picksAfter {
		t.Errorf("n3 was picked %d times while dead", picks-picksAfter)
	}
	eventually(t, "the probes to close", func() bool {
		total := 0
		for _, count := range c.connections() {
			total += count
		}
		return total == clusterClients
	})

	// 3. Restart n3 on its address: health brings it back, rebalancing
	// fills it within the spread.
	c.startNode("n3", n3Addr)
	waitConnected("n3 back, rebalanced", func(byNode map[string]int) bool {
		lowest, highest := spreadOf(byNode, []string{"n1", "n2", "n3"})
		return float64(highest-lowest) <= 0.2*100
	})

	// 4. Drain n2: its clients move to n1 and n3.
	p.DrainBackend("n2")
	waitConnected("n2 drained", func(byNode map[string]int) bool { return byNode["n2"] == 0 })

	// The end: stop sending, let every listener catch up, and check that
	// none lost a message it was owed.
	close(stopSending)
	heads := make([]uint64, clusterRooms)
	for room, result := range acked {
		heads[room] = <-result
	}
	for _, l := range listeners {
		room := 0
		fmt.Sscanf(l.room, "room%d", &room)
		eventually(t, l.name+" to catch up", func() bool {
			l.mu.Lock()
			defer l.mu.Unlock()
			return l.last >= heads[room]
		})
	}
	reconnects, duplicates := 0, 0
	for _, l := range listeners {
		l.stop()
		room := 0
		fmt.Sscanf(l.room, "room%d", &room)
		l.mu.Lock()
		reconnects += l.reconnect
		if l.resets != 0 {
			t.Errorf("%s got %d resets", l.name, l.resets)
		}
		for seq := l.joinedAt + 1; seq <= heads[room]; seq++ {
			switch l.seen[seq] {
			case 0:
				t.Errorf("%s (%s) lost seq %d (owed %d..%d)", l.name, l.room, seq, l.joinedAt+1, heads[room])
			case 1:
			default:
				duplicates += l.seen[seq] - 1
			}
		}
		l.mu.Unlock()
	}
	running.Wait()
	t.Logf("heads %v; %d reconnects; %d duplicates (deduped by seq); balancer %+v", heads, reconnects, duplicates, p.State().Balancer.Counters)
	if reconnects < 100 {
		t.Errorf("only %d reconnects: the phases did not move clients", reconnects)
	}
}

// dialFrame connects a client through the balancer and decodes the node's
// welcome.
func dialFrame(t *testing.T, p *Proxy, user string) (*websocket.Conn, protocol.Outbound) {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+p.Addr()+"/ws?user="+user, nil)
	if err != nil {
		t.Fatalf("dial %s through the balancer: %v", user, err)
	}
	ws.SetReadDeadline(time.Now().Add(clusterWait))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("%s's welcome: %v", user, err)
	}
	frame, err := protocol.DecodeOutbound(data)
	if err != nil || frame.Type != protocol.TypeWelcome {
		t.Fatalf("%s's first frame %q: %v", user, data, err)
	}
	return ws, frame
}

func spreadOf(byNode map[string]int, names []string) (lowest, highest int) {
	for i, name := range names {
		if i == 0 || byNode[name] < lowest {
			lowest = byNode[name]
		}
		if i == 0 || byNode[name] > highest {
			highest = byNode[name]
		}
	}
	return lowest, highest
}
