package proxy

import "syscall"

// waitReadable parks until conn has bytes (or an end or error) to read,
// without a buffer: it peeks one byte with MSG_PEEK|MSG_DONTWAIT and, on
// EAGAIN, lets the runtime's poller wait. This is what keeps an idle proxied
// connection at two parked goroutines and two sockets, with no 16 KiB
// buffer per direction. A conn without a file descriptor reads at once.
func waitReadable(conn syscall.Conn) error {
	if conn == nil {
		return nil
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var peek [1]byte
	return raw.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), peek[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Data, an end (0 bytes) or an error: the Read that follows reports it.
		return err != syscall.EAGAIN
	})
}
