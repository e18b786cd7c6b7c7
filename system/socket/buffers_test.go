package socket

import (
	"net"
	"syscall"
	"testing"
)

func TestCapBuffersSetsBothWays(t *testing.T) {
	conn, _ := tcpPair(t)
	CapBuffers(conn, 16*1024)
	send, _ := sockoptInt(t, conn, syscall.SOL_SOCKET, syscall.SO_SNDBUF)
	receive, _ := sockoptInt(t, conn, syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	// Linux doubles the value it is given, for its own bookkeeping.
	if send > 64*1024 || receive > 64*1024 || send == 0 || receive == 0 {
		t.Fatalf("SO_SNDBUF %d, SO_RCVBUF %d after capping at 16 KiB", send, receive)
	}
}

// tcpPair is two ends of a loopback TCP connection, closed when the test ends.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dialed, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	accepted, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dialed.Close(); accepted.Close() })
	return dialed.(*net.TCPConn), accepted.(*net.TCPConn)
}

// sockoptInt reads one integer socket option of conn.
func sockoptInt(t *testing.T, conn *net.TCPConn, level, option int) (int, error) {
	t.Helper()
	raw, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var value int
	var getErr error
	raw.Control(func(fd uintptr) { value, getErr = syscall.GetsockoptInt(int(fd), level, option) })
	return value, getErr
}
