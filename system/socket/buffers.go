// Package socket holds what the real runtimes (system/server,
// system/proxy) and the load generator do to their TCP sockets.
package socket

import (
	"net"
	"time"
)

// CapBuffers caps a TCP connection's kernel send and receive buffers at
// bytes, when bytes is set. The kernel's own grow to megabytes on loopback,
// where a peer that stops reading would hide a long backlog; capped, it
// pushes back within bytes. Best effort: the kernel may round the size, and
// a connection that is not TCP is left alone.
//
// A capped receive buffer can drop what it was sent: once its reader
// stops, it may hold less than the window it offered (more so in small
// segments), and what does not fit is dropped. The sender retransmits with
// a timeout that doubles each time (up to two minutes), so after a stall of
// seconds the stream stays silent for seconds more once the reader reads
// again. CapBuffers also bounds that backoff at RetransmitBackoffMax where
// the kernel allows it (Linux 6.15 on, TCP_RTO_MAX_MS).
func CapBuffers(conn net.Conn, bytes int) {
	tcp, ok := conn.(*net.TCPConn)
	if bytes <= 0 || !ok {
		return
	}
	_ = tcp.SetWriteBuffer(bytes)
	_ = tcp.SetReadBuffer(bytes)
	boundRetransmitBackoff(tcp)
}

// RetransmitBackoffMax is the longest a capped socket waits between
// retransmissions: a stalled reader that reads again gets its stream back
// within it.
const RetransmitBackoffMax = time.Second
