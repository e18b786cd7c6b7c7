package socket

import (
	"net"
	"time"
)

// Limits every HTTP port of the real runtimes shares (the public ones and
// the admin ones).
const (
	// HTTPHeaderBytesMax bounds a request's headers: a WebSocket upgrade
	// with a token needs a few KB; net/http's own default of 1 MB lets a
	// client make the server buffer that much per connection.
	HTTPHeaderBytesMax = 16 << 10
	// HTTPHeaderWait bounds a request's headers (a client's upgrade, a
	// scraper's request).
	HTTPHeaderWait = 10 * time.Second
	// HTTPIdleWait bounds an idle keep-alive connection (scrapers, probes).
	HTTPIdleWait = 60 * time.Second
)

// HostOf is the host of a request's remote address ("127.0.0.1" of
// "127.0.0.1:5000"): the peer's address, which limits per address count by.
func HostOf(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}
