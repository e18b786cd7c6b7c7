//go:build !linux

package socket

import (
	"errors"
	"syscall"
)

// Poller is Linux's epoll; elsewhere there is none, and callers keep a
// goroutine per socket.
type Poller struct{}

// Watch is a socket's registration with a Poller.
type Watch struct{}

var errNoPoller = errors.New("no socket poller on this platform")

// SharedPoller reports that there is no poller here.
func SharedPoller() (*Poller, error) { return nil, errNoPoller }

// NewPoller reports that there is no poller here.
func NewPoller() (*Poller, error) { return nil, errNoPoller }

// Watch is never reached without a poller.
func (p *Poller) Watch(syscall.Conn, func(*Watch)) (*Watch, error) { return nil, errNoPoller }

// Arm is never reached without a poller.
func (w *Watch) Arm() error { return errNoPoller }

// Release is never reached without a poller.
func (w *Watch) Release() {}
