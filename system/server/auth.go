package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Auth limits.
const (
	// userBytesMax is the longest user name, in a token or in ?user=.
	userBytesMax = 64
	// SecretBytesMin is the shortest HS256 secret accepted: shorter keys
	// can be brute-forced offline from any one token.
	SecretBytesMin = 16
	// tokenBytesMax bounds the work a presented token can cause before it
	// is rejected.
	tokenBytesMax = 4096
)

// signingMethod is the only method minted and the only one accepted, so a
// token with alg "none" or an asymmetric alg is refused outright.
var signingMethod = jwt.SigningMethodHS256

// CheckUser validates a user name: 1 to 64 bytes of [A-Za-z0-9._-].
func CheckUser(user string) error {
	if user == "" {
		return errors.New("user is empty")
	}
	if len(user) > userBytesMax {
		return fmt.Errorf("user is %d bytes; the limit is %d", len(user), userBytesMax)
	}
	for i := 0; i < len(user); i++ {
		if !userByte(user[i]) {
			return fmt.Errorf("user has %q at byte %d; allowed are A-Z a-z 0-9 . _ -", user[i], i)
		}
	}
	return nil
}

func userByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	case c == '.', c == '_', c == '-':
		return true
	}
	return false
}

// CheckSecret validates an HS256 secret.
func CheckSecret(secret []byte) error {
	if len(secret) < SecretBytesMin {
		return fmt.Errorf("secret is %d bytes; it must be at least %d", len(secret), SecretBytesMin)
	}
	return nil
}

// MintToken returns a signed token naming user that expires ttl after now.
func MintToken(secret []byte, user string, ttl time.Duration, now time.Time) (string, error) {
	if err := CheckUser(user); err != nil {
		return "", err
	}
	if err := CheckSecret(secret); err != nil {
		return "", err
	}
	if ttl <= 0 {
		return "", fmt.Errorf("ttl is %s; it must be positive", ttl)
	}
	claims := jwt.RegisteredClaims{
		Subject:   user,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	return jwt.NewWithClaims(signingMethod, claims).SignedString(secret)
}

// VerifyToken checks a token's signature, algorithm and expiry (required)
// at now and returns the user it names.
func VerifyToken(secret []byte, token string, now time.Time) (string, error) {
	if len(token) > tokenBytesMax {
		return "", fmt.Errorf("token is %d bytes; the limit is %d", len(token), tokenBytesMax)
	}
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{signingMethod.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if err != nil {
		return "", err
	}
	if err := CheckUser(claims.Subject); err != nil {
		return "", fmt.Errorf("token subject: %w", err)
	}
	return claims.Subject, nil
}

// authenticate returns the user a WebSocket request speaks for, or an error
// whose text is fit for a 401 body. With auth on the token comes from
// ?token= (browsers cannot set headers on a WebSocket) or from
// "Authorization: Bearer"; with auth off the user is ?user=.
func (s *Server) authenticate(r *http.Request) (string, error) {
	if !s.cfg.Auth {
		user := r.URL.Query().Get("user")
		if err := CheckUser(user); err != nil {
			return "", fmt.Errorf("?user=: %w", err)
		}
		return user, nil
	}
	token := r.URL.Query().Get("token")
	if token == "" {
		header := r.Header.Get("Authorization")
		scheme, rest, found := strings.Cut(header, " ")
		if found && strings.EqualFold(scheme, "Bearer") {
			token = strings.TrimSpace(rest)
		}
	}
	if token == "" {
		return "", errors.New("missing token: pass ?token= or Authorization: Bearer")
	}
	user, err := VerifyToken(s.cfg.Secret, token, time.Now())
	if err != nil {
		return "", errors.New("bad token")
	}
	return user, nil
}
