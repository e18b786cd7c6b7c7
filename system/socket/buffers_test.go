package socket

import (
	"net"
	"syscall"
	"testing"
)

func TestCapBuffersSetsBothWays(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	conn, err := net.Dial("tcp", listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	CapBuffers(conn, 16*1024)
	raw, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var send, receive int
	raw.Control(func(fd uintptr) {
		send, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
		receive, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	})
	// Linux doubles the value it is given, for its own bookkeeping.
	if send > 64*1024 || receive > 64*1024 || send == 0 || receive == 0 {
		t.Fatalf("SO_SNDBUF %d, SO_RCVBUF %d after capping at 16 KiB", send, receive)
	}
}
