package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// originPolicy decides which browser origins may open a WebSocket. Requests
// without an Origin header (non-browser clients) are always allowed: the
// check exists to stop other web pages from riding a user's browser.
type originPolicy struct {
	any     bool
	allowed map[string]bool // "scheme://host[:port]", lower case
}

// parseOrigins reads the --allowed-origins list: empty means same host
// only, "*" allows every origin, otherwise each entry is scheme://host[:port].
func parseOrigins(list []string) (originPolicy, error) {
	policy := originPolicy{allowed: map[string]bool{}}
	for _, entry := range list {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if entry == "*" {
			policy.any = true
			continue
		}
		origin, err := url.Parse(entry)
		if err != nil || origin.Host == "" || (origin.Scheme != "http" && origin.Scheme != "https") ||
			(origin.Path != "" && origin.Path != "/") || origin.RawQuery != "" || origin.User != nil {
			return originPolicy{}, fmt.Errorf("origin %q: want scheme://host[:port] with scheme http or https, or *", entry)
		}
		policy.allowed[strings.ToLower(origin.Scheme+"://"+origin.Host)] = true
	}
	return policy, nil
}

func (p originPolicy) check(r *http.Request) bool {
	header := r.Header.Get("Origin")
	if header == "" || p.any {
		return true
	}
	origin, err := url.Parse(header)
	if err != nil {
		return false
	}
	if len(p.allowed) == 0 {
		return strings.EqualFold(origin.Host, r.Host)
	}
	return p.allowed[strings.ToLower(origin.Scheme+"://"+origin.Host)]
}

// CheckOrigins validates an --allowed-origins list.
func CheckOrigins(list []string) error {
	_, err := parseOrigins(list)
	return err
}
