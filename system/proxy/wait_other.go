//go:build !linux

package proxy

import "syscall"

// waitReadable returns at once where there is no MSG_PEEK wait: the pump's
// read then blocks holding its buffer, which costs memory but not
// correctness.
func waitReadable(syscall.Conn) error { return nil }
