//go:build !linux

package socket

import "net"

// boundRetransmitBackoff does nothing where TCP_RTO_MAX_MS is not known.
func boundRetransmitBackoff(*net.TCPConn) {}
