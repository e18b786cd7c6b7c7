package socket

import (
	"fmt"
	"sync"
	"syscall"
)

// Poller waits for many sockets to become readable on one goroutine, so
// that an idle socket needs no goroutine of its own (a parked goroutine
// keeps at least a 2 KiB stack). A socket waits once per arming
// (EPOLLONESHOT): when it becomes readable, or hangs up, or fails, its
// ready function runs on a new goroutine, and it waits again only once
// armed again. Closing a socket while it waits drops the wait without a
// call: shut it down instead (shutdown(2) wakes the wait), and close it
// once its ready function has seen the end.
type Poller struct {
	epfd int

	mu      sync.Mutex
	watches map[int32]*Watch
	next    int32
}

var (
	sharedOnce   sync.Once
	sharedPoller *Poller
	sharedErr    error
)

// SharedPoller is the process's poller, started on first use.
func SharedPoller() (*Poller, error) {
	sharedOnce.Do(func() { sharedPoller, sharedErr = NewPoller() })
	return sharedPoller, sharedErr
}

// NewPoller starts a poller and its waiting goroutine, which lives as long
// as the process.
func NewPoller() (*Poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	p := &Poller{epfd: epfd, watches: map[int32]*Watch{}}
	go p.wait()
	return p, nil
}

// Watch is one socket's registration.
type Watch struct {
	poller *Poller
	raw    syscall.RawConn
	token  int32
	ready  func(*Watch)
}

// readable is what a wait waits for: data, an end, an error.
const readable = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// Watch registers conn and arms its first wait: ready runs once conn has
// something to read, and again after each Arm.
func (p *Poller) Watch(conn syscall.Conn, ready func(*Watch)) (*Watch, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		p.next++
		if _, taken := p.watches[p.next]; !taken {
			break
		}
	}
	w := &Watch{poller: p, raw: raw, token: p.next, ready: ready}
	p.watches[w.token] = w
	if err := w.ctlLocked(syscall.EPOLL_CTL_ADD); err != nil {
		delete(p.watches, w.token)
		return nil, err
	}
	return w, nil
}

// Arm waits once more for the socket. An error means the socket is closed:
// no call will come. The wait is armed under the poller's lock, which the
// poller holds when it starts the next ready call: what this goroutine
// wrote before arming is seen by that call.
func (w *Watch) Arm() error {
	w.poller.mu.Lock()
	defer w.poller.mu.Unlock()
	return w.ctlLocked(syscall.EPOLL_CTL_MOD)
}

func (w *Watch) ctlLocked(op int) error {
	var ctlErr error
	err := w.raw.Control(func(fd uintptr) {
		event := syscall.EpollEvent{Events: readable, Fd: w.token}
		ctlErr = syscall.EpollCtl(w.poller.epfd, op, int(fd), &event)
	})
	if err == nil {
		err = ctlErr
	}
	return err
}

// Release forgets the registration. Call it once the socket's waits are
// over (its ready function saw the end); closing the socket removes it
// from the kernel's set.
func (w *Watch) Release() {
	w.poller.mu.Lock()
	delete(w.poller.watches, w.token)
	w.poller.mu.Unlock()
}

// eventsMax is how many readiness events one wait returns at most.
const eventsMax = 256

func (p *Poller) wait() {
	var events [eventsMax]syscall.EpollEvent
	for {
		n, err := syscall.EpollWait(p.epfd, events[:], -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			panic(fmt.Sprintf("epoll_wait: %v", err))
		}
		p.mu.Lock()
		for _, event := range events[:n] {
			if w := p.watches[event.Fd]; w != nil {
				go w.ready(w)
			}
		}
		p.mu.Unlock()
	}
}
