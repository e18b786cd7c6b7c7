package socket

import (
	"errors"
	"syscall"
	"testing"
)

// A capped socket retransmits at most RetransmitBackoffMax apart. Without
// the bound, a soak run's stalled client read again and got a few frames,
// then nothing for 5.6 s: its socket had dropped segments while it did not
// read, and the balancer's retransmission timeout had doubled to 7.3 s
// (ss: rto:7296 backoff:5, five 1 KiB retransmissions). slow-consumer on
// local (seed 2) showed such silences of 2.3 to 4.7 s, one cut-off 9.1 s
// after its client read again, against the check's 10 s.
func TestCapBuffersBoundsTheRetransmitBackoff(t *testing.T) {
	conn, _ := tcpPair(t)
	CapBuffers(conn, 16*1024)
	rtoMaxMs, getErr := sockoptInt(t, conn, syscall.IPPROTO_TCP, tcpRTOMaxMs)
	if errors.Is(getErr, syscall.ENOPROTOOPT) {
		t.Skip("the kernel has no TCP_RTO_MAX_MS (Linux before 6.15)")
	}
	if getErr != nil {
		t.Fatal(getErr)
	}
	if rtoMaxMs != int(RetransmitBackoffMax.Milliseconds()) {
		t.Fatalf("TCP_RTO_MAX_MS %d after capping; want %d", rtoMaxMs, RetransmitBackoffMax.Milliseconds())
	}
}
