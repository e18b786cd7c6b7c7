//go:build !linux

package socket

import (
	"errors"
	"syscall"
)

// WaitReadable returns at once where there is no MSG_PEEK wait: the read
// that follows then blocks holding its buffer, which costs memory but not
// correctness.
func WaitReadable(syscall.Conn) error { return nil }

// Peek finds nothing where there is no MSG_PEEK: every frame goes to the
// WebSocket reader.
func Peek(syscall.Conn, []byte) (int, error) { return 0, nil }

// Discard is never reached: Peek shows nothing here.
func Discard(syscall.Conn, []byte) error { return errNoPeek }

var errNoPeek = errors.New("no socket peek on this platform")
