package proxy

import (
	"net"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// tokenBytesMax bounds the parsing a presented token can cause.
const tokenBytesMax = 4096

// userOf names the client for hash-user placement: the token's subject,
// else ?user= (auth off), else the client's address. The token is read,
// not verified: placement is no security decision, and the node verifies
// it on the upgrade that follows.
func userOf(r *http.Request) string {
	token := r.URL.Query().Get("token")
	if bearer, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found {
		token = bearer
	}
	if token != "" && len(token) <= tokenBytesMax {
		var claims jwt.RegisteredClaims
		if _, _, err := jwt.NewParser().ParseUnverified(token, &claims); err == nil && claims.Subject != "" {
			return claims.Subject
		}
	}
	if user := r.URL.Query().Get("user"); user != "" {
		return user
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
