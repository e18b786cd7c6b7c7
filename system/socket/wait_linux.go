package socket

import (
	"io"
	"syscall"
)

// WaitReadable parks until conn has bytes (or an end or error) to read,
// without a buffer: it peeks one byte with MSG_PEEK|MSG_DONTWAIT and, on
// EAGAIN, lets the runtime's poller wait. A goroutine parked here sits on
// a shallow stack with no read buffer, which is what keeps an idle
// connection cheap; the read that follows reports what arrived. The
// conn's read deadline applies. A conn without a file descriptor returns
// at once.
func WaitReadable(conn syscall.Conn) error {
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

// Peek copies into buf the bytes conn has ready, without consuming them and
// without waiting: 0 when none are ready, io.EOF at the end of the stream
// (the peer's FIN, or the socket's read side shut down), or the socket's
// error. It ignores the read deadline: bytes that arrived are reported even
// when the one who looks comes late. It is for looking at what
// WaitReadable or a poller found.
func Peek(conn syscall.Conn, buf []byte) (int, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	n := 0
	var peekErr error
	err = raw.Control(func(fd uintptr) {
		got, _, err := syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EAGAIN || err == syscall.EINTR:
		case err != nil:
			peekErr = err
		case got == 0 && len(buf) > 0:
			peekErr = io.EOF
		default:
			n = got
		}
	})
	if err == nil {
		err = peekErr
	}
	return n, err
}

// Discard consumes len(buf) bytes that Peek has shown are ready, reading
// them into buf without waiting and, like Peek, whatever the read
// deadline.
func Discard(conn syscall.Conn, buf []byte) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var readErr error
	err = raw.Control(func(fd uintptr) {
		for done := 0; done < len(buf) && readErr == nil; {
			got, _, err := syscall.Recvfrom(int(fd), buf[done:], syscall.MSG_DONTWAIT)
			switch {
			case err == syscall.EINTR:
			case err != nil:
				readErr = err
			case got == 0:
				readErr = io.ErrUnexpectedEOF
			default:
				done += got
			}
		}
	})
	if err == nil {
		err = readErr
	}
	return err
}
