// Package socket holds what the real runtimes (system/server,
// system/proxy) and the load generator do to their TCP sockets.
package socket

import "net"

// CapBuffers caps a TCP connection's kernel send and receive buffers at
// bytes, when bytes is set. The kernel's own grow to megabytes on loopback,
// where a peer that stops reading would hide a long backlog; capped, it
// pushes back within bytes. Best effort: the kernel may round the size, and
// a connection that is not TCP is left alone.
func CapBuffers(conn net.Conn, bytes int) {
	tcp, ok := conn.(*net.TCPConn)
	if bytes <= 0 || !ok {
		return
	}
	_ = tcp.SetWriteBuffer(bytes)
	_ = tcp.SetReadBuffer(bytes)
}
