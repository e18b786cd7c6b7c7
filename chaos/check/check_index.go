package check

import (
	"slices"
	"sort"

	"chatlab/system/client"
)

// historyIndex is a history arranged once for all checkers: messages by id,
// each room's epochs and logs, and each client's membership windows.
type historyIndex struct {
	pubsub  bool
	endAtMs int64
	// clients is sorted: a client's porcupine ClientId is its index.
	clients   []string
	clientIDs map[string]int
	messages  map[string]*message
	rooms     map[string]*roomIndex
	roomNames []string // sorted
	streams   []*stream
	windows   []*window
	sends     sendsIndex

	sentCount, ackedCount, deliveryCount int
}

// message is one send id and what became of it.
type message struct {
	id, room, sender string
	sent             bool
	sentAtMs         int64 // the first sent event
	acked            bool
	ackSeq           uint64
	ackAtMs          int64
	// delivered: some client passed it to the application (a delivery the
	// client discarded as a duplicate does not count).
	delivered        bool
	firstDeliveredMs int64
	// deliveredEpochs lists the epochs it was passed to an application in,
	// first seen first.
	deliveredEpochs []string
	// placed is true when the epoch of the acked seq is known (epoch): the
	// message was delivered in one epoch only, or the room has only one.
	placed bool
	epoch  string
}

// roomIndex is what the history says about one room.
type roomIndex struct {
	name string
	// epochs in the order they first appear; [""] when the history names none.
	epochs     []string
	epochRank  map[string]int
	epochFirst map[string]int64 // AtMs of the first record naming the epoch
	logs       map[string]*roomLog
	messages   []*message // in the order of their first record
	resets     []client.Event
	streams    []*stream // by client
}

// roomLog is one (room, epoch) log as the deliveries and acks show it.
type roomLog struct {
	// maxSeq is the highest seq anybody saw or was acked: the script hands
	// out seqs one by one, so every seq up to it exists.
	maxSeq         uint64
	firstDelivered map[uint64]string
	acked          map[uint64]string
}

// idAt names the message at seq for reports, or "" when nobody knows it.
func (l *roomLog) idAt(seq uint64) string {
	if id, ok := l.firstDelivered[seq]; ok {
		return id
	}
	return l.acked[seq]
}

// passedToApp reports whether an event is a message the client state
// machine handed to the application. A delivered event flagged Duplicate
// arrived on the wire but was discarded by the client's seq dedupe: the
// checks of what clients received judge only the others, and the
// client-dedupe check holds each discarded one against them.
func passedToApp(e client.Event) bool {
	return e.Kind == client.KindDelivered && !e.Duplicate
}

// stream is one client's events about one room, with the client's
// disconnects interleaved (they matter to every room it is in).
type stream struct {
	client, room string
	events       []client.Event
	windows      []*window
}

// window is one membership of a client in a room: from its first joined to
// its left or the end of the history. Reconnects do not end it.
type window struct {
	client, room string
	joined       client.Event
	// at is the joined's index in the stream's events.
	at int
	// head is where the membership starts in the joined epoch: the joined
	// head, or where the app stood in that epoch when it last left the room
	// if that is higher (the client passes nothing on twice across a
	// rejoin through a node whose head lags: system/client joinedRoom).
	head   uint64
	events []client.Event // after the opening joined
	left   bool
	// offline is true when the history ends with the client disconnected
	// and the room not joined again.
	offline bool
}

// closed reports whether the window ended before the history did, so that
// only what the client saw bounds what it could be expected to see.
func (w *window) closed() bool { return w.left || w.offline }

func indexHistory(h History, delivery string) *historyIndex {
	ix := &historyIndex{
		clientIDs: map[string]int{},
		messages:  map[string]*message{},
		rooms:     map[string]*roomIndex{},
		pubsub:    isPubSub(h, delivery),
	}
	ix.collectRoomsAndClients(h)
	ix.collectMessages(h)
	ix.collectSends(h)
	ix.placeMessages()
	if !ix.pubsub {
		ix.collectLogs(h)
	}
	ix.collectStreams(h)
	for _, s := range ix.streams {
		s.windows = windowsOf(s)
		ix.windows = append(ix.windows, s.windows...)
	}
	return ix
}

// isPubSub tells the mode: as given, or pubsub when acks and deliveries
// carry no seq.
func isPubSub(h History, delivery string) bool {
	switch delivery {
	case DeliveryPubSub:
		return true
	case DeliveryRecover:
		return false
	}
	seqless := false
	for i := range h {
		if h[i].Kind != client.KindDelivered && h[i].Kind != client.KindAcked {
			continue
		}
		if h[i].Seq > 0 {
			return false
		}
		seqless = true
	}
	return seqless
}

// HistoryClients lists a history's clients in name order: porcupine's
// ClientId of a client (in LinearizabilityVisualization) is its index here.
func HistoryClients(h History) []string {
	seen := map[string]bool{}
	var clients []string
	for i := range h {
		if !seen[h[i].Client] {
			seen[h[i].Client] = true
			clients = append(clients, h[i].Client)
		}
	}
	sort.Strings(clients)
	return clients
}

func (ix *historyIndex) collectRoomsAndClients(h History) {
	ix.clients = HistoryClients(h)
	for i, name := range ix.clients {
		ix.clientIDs[name] = i
	}
	for i := range h {
		r := &h[i]
		ix.endAtMs = max(ix.endAtMs, r.AtMs)
		if r.Room == "" {
			continue
		}
		room := ix.room(r.Room)
		if r.Epoch == "" || ix.pubsub {
			continue
		}
		if _, ok := room.epochRank[r.Epoch]; !ok {
			room.epochRank[r.Epoch] = len(room.epochs)
			room.epochs = append(room.epochs, r.Epoch)
			room.epochFirst[r.Epoch] = r.AtMs
		}
	}
	for name, room := range ix.rooms { // map order: sorted below
		ix.roomNames = append(ix.roomNames, name)
		if len(room.epochs) == 0 {
			room.epochs, room.epochRank[""] = []string{""}, 0
		}
	}
	sort.Strings(ix.roomNames)
}

func (ix *historyIndex) room(name string) *roomIndex {
	room := ix.rooms[name]
	if room == nil {
		room = &roomIndex{name: name, epochRank: map[string]int{}, epochFirst: map[string]int64{},
			logs: map[string]*roomLog{}}
		ix.rooms[name] = room
	}
	return room
}

// epochOf names the epoch a record belongs to: its own, or the room's only
// one when the record names none.
func (room *roomIndex) epochOf(epoch string) string {
	if epoch == "" && len(room.epochs) == 1 {
		return room.epochs[0]
	}
	return epoch
}

// after reports whether epoch a began after epoch b.
func (room *roomIndex) after(a, b string) bool {
	rankA, okA := room.epochRank[a]
	rankB, okB := room.epochRank[b]
	return okA && okB && rankA > rankB
}

func (room *roomIndex) log(epoch string) *roomLog {
	l := room.logs[epoch]
	if l == nil {
		l = &roomLog{firstDelivered: map[uint64]string{}, acked: map[uint64]string{}}
		room.logs[epoch] = l
	}
	return l
}

func (ix *historyIndex) message(id, room string) *message {
	m := ix.messages[id]
	if m == nil {
		m = &message{id: id, room: room}
		ix.messages[id] = m
		ix.rooms[room].messages = append(ix.rooms[room].messages, m)
	}
	return m
}

func (ix *historyIndex) collectMessages(h History) {
	for i := range h {
		r := &h[i]
		switch r.Kind {
		case client.KindSent:
			m := ix.message(r.ID, r.Room)
			if !m.sent {
				ix.sentCount++
				m.sent, m.sender, m.sentAtMs = true, r.Client, r.AtMs
			}
		case client.KindAcked:
			m := ix.message(r.ID, r.Room)
			if !m.acked {
				ix.ackedCount++
				m.acked, m.ackSeq, m.ackAtMs = true, r.Seq, r.AtMs
			}
		case client.KindDelivered:
			ix.deliveryCount++
			m := ix.message(r.ID, r.Room)
			if r.Duplicate {
				continue // arrived, but the application never saw it here
			}
			if !m.delivered {
				m.delivered, m.firstDeliveredMs = true, r.AtMs
			}
			epoch := ix.rooms[r.Room].epochOf(r.Epoch)
			if !slices.Contains(m.deliveredEpochs, epoch) {
				m.deliveredEpochs = append(m.deliveredEpochs, epoch)
			}
		case client.KindReset:
			room := ix.rooms[r.Room]
			room.resets = append(room.resets, r.Event)
		}
	}
}

// placeMessages decides which epoch each acked seq belongs to. An ack does
// not name its epoch: the deliveries do, or the room has only one.
func (ix *historyIndex) placeMessages() {
	for _, name := range ix.roomNames {
		room := ix.rooms[name]
		for _, m := range room.messages {
			switch {
			case !m.acked || ix.pubsub:
			case len(m.deliveredEpochs) == 1:
				m.placed, m.epoch = true, m.deliveredEpochs[0]
			case len(m.deliveredEpochs) == 0 && len(room.epochs) == 1:
				m.placed, m.epoch = true, room.epochs[0]
			}
		}
	}
}

func (ix *historyIndex) collectLogs(h History) {
	for i := range h {
		r := &h[i]
		if r.Kind != client.KindDelivered || r.Seq == 0 {
			continue
		}
		room := ix.rooms[r.Room]
		l := room.log(room.epochOf(r.Epoch))
		l.maxSeq = max(l.maxSeq, r.Seq)
		if _, ok := l.firstDelivered[r.Seq]; !ok {
			l.firstDelivered[r.Seq] = r.ID
		}
	}
	for _, name := range ix.roomNames {
		room := ix.rooms[name]
		for _, m := range room.messages {
			if !m.placed || m.ackSeq == 0 {
				continue
			}
			l := room.log(m.epoch)
			l.maxSeq = max(l.maxSeq, m.ackSeq)
			if _, ok := l.acked[m.ackSeq]; !ok {
				l.acked[m.ackSeq] = m.id
			}
		}
	}
}

func (ix *historyIndex) collectStreams(h History) {
	byClient := map[string]map[string]*stream{}
	roomsOf := map[string][]*stream{} // a client's streams, in order of creation
	for i := range h {
		r := &h[i]
		if r.Kind == client.KindDisconnected {
			for _, s := range roomsOf[r.Client] {
				s.events = append(s.events, r.Event)
			}
			continue
		}
		if r.Room == "" {
			continue
		}
		if byClient[r.Client] == nil {
			byClient[r.Client] = map[string]*stream{}
		}
		s := byClient[r.Client][r.Room]
		if s == nil {
			s = &stream{client: r.Client, room: r.Room}
			byClient[r.Client][r.Room] = s
			roomsOf[r.Client] = append(roomsOf[r.Client], s)
			ix.streams = append(ix.streams, s)
		}
		s.events = append(s.events, r.Event)
	}
	sort.Slice(ix.streams, func(i, j int) bool {
		a, b := ix.streams[i], ix.streams[j]
		if a.client != b.client {
			return a.client < b.client
		}
		return a.room < b.room
	})
	for _, s := range ix.streams {
		room := ix.rooms[s.room]
		room.streams = append(room.streams, s)
	}
}

// windowsOf cuts a stream into membership windows: each starts at a joined
// when the client is not a member and ends at a left. A window's events are
// a slice of the stream's, not a copy.
func windowsOf(s *stream) []*window {
	var windows []*window
	var open *window
	opened := 0
	for i, e := range s.events {
		switch {
		case open == nil && e.Kind == client.KindJoined:
			open, opened = &window{client: s.client, room: s.room, joined: e, at: i}, i+1
			windows = append(windows, open)
		case open != nil && e.Kind == client.KindLeft:
			open.events, open.left = s.events[opened:i:i], true
			open = nil
		}
	}
	if open != nil {
		open.events = s.events[opened:]
		open.offline = endsOffline(open)
	}
	var had appPosition
	for _, w := range windows {
		w.head = w.joined.Head
		if had.epoch != "" && had.epoch == w.joined.Epoch && had.seq > w.head {
			w.head = had.seq
		}
		had = w.end()
	}
	return windows
}

// appPosition is where a client's app stands in a room: every seq of epoch
// up to seq passed on or declared gone (the epochs as the client named them).
type appPosition struct {
	epoch string
	seq   uint64
}

// end is where the app stood in the room when the window ended, as the
// client state machine keeps it (its room's epoch and last seq).
func (w *window) end() appPosition {
	at := appPosition{epoch: w.joined.Epoch, seq: w.head}
	for _, e := range w.events {
		switch {
		case e.Kind == client.KindJoined && at.epoch == "":
			at.epoch = e.Epoch
		case e.Kind == client.KindReset:
			floor := uint64(0)
			if e.Seq > 0 {
				floor = e.Seq - 1
			}
			if e.Epoch != at.epoch {
				at = appPosition{epoch: e.Epoch, seq: floor}
			} else {
				at.seq = max(at.seq, floor)
			}
		case passedToApp(e) && e.Seq > at.seq:
			at.seq = e.Seq
			if at.epoch == "" {
				at.epoch = e.Epoch
			}
		}
	}
	return at
}

// endsOffline reports whether the window's last connection news is a
// disconnect that no joined of the room followed.
func endsOffline(w *window) bool {
	for i := len(w.events) - 1; i >= 0; i-- {
		switch w.events[i].Kind {
		case client.KindDisconnected:
			return true
		case client.KindJoined:
			return false
		}
	}
	return false
}
