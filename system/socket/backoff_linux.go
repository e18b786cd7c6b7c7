package socket

import (
	"net"
	"syscall"
)

// tcpRTOMaxMs is Linux's TCP_RTO_MAX_MS (include/uapi/linux/tcp.h, 6.15).
const tcpRTOMaxMs = 44

// boundRetransmitBackoff caps conn's retransmission timeout at
// RetransmitBackoffMax; an older kernel refuses the option and keeps its
// own (two minutes).
func boundRetransmitBackoff(conn *net.TCPConn) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpRTOMaxMs, int(RetransmitBackoffMax.Milliseconds()))
	})
}
