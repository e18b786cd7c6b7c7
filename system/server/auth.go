package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"chatlab/system/node"
	"chatlab/system/protocol"
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

// Claims is what a verified token says.
type Claims struct {
	User string
	// Rooms are the room names and patterns (protocol.MatchRoom) the token
	// grants; nil when it has no rooms claim, and then Config.RoomsOpen
	// decides. An empty, non-nil list grants no room.
	Rooms []string
	// ExpiresAt is when the token stops being valid.
	ExpiresAt time.Time
}

// tokenClaims is a token's JSON payload: the registered claims (sub, iat,
// exp) and the rooms claim, like Centrifugo's channels claim.
type tokenClaims struct {
	jwt.RegisteredClaims
	Rooms []string `json:"rooms,omitempty"`
}

// CheckRooms validates a rooms claim: at most protocol.RoomPatternsMax
// names or patterns, each valid.
func CheckRooms(rooms []string) error {
	if len(rooms) > protocol.RoomPatternsMax {
		return fmt.Errorf("%d rooms; the limit is %d", len(rooms), protocol.RoomPatternsMax)
	}
	for _, pattern := range rooms {
		if err := protocol.CheckRoomPattern(pattern); err != nil {
			return err
		}
	}
	return nil
}

// MintToken returns a signed token naming user that expires ttl after now.
// rooms, when not empty, is its rooms claim: the rooms (names and
// patterns such as team-*) it may join; empty leaves the claim out.
func MintToken(secret []byte, user string, rooms []string, ttl time.Duration, now time.Time) (string, error) {
	if err := CheckUser(user); err != nil {
		return "", err
	}
	if err := CheckSecret(secret); err != nil {
		return "", err
	}
	if err := CheckRooms(rooms); err != nil {
		return "", err
	}
	if ttl <= 0 {
		return "", fmt.Errorf("ttl is %s; it must be positive", ttl)
	}
	claims := tokenClaims{RegisteredClaims: jwt.RegisteredClaims{
		Subject:   user,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}, Rooms: rooms}
	return jwt.NewWithClaims(signingMethod, claims).SignedString(secret)
}

// VerifyToken checks a token's signature, algorithm, expiry (required) at
// now and rooms claim, and returns its claims.
func VerifyToken(secret []byte, token string, now time.Time) (Claims, error) {
	if len(token) > tokenBytesMax {
		return Claims{}, fmt.Errorf("token is %d bytes; the limit is %d", len(token), tokenBytesMax)
	}
	var claims tokenClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{signingMethod.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if err != nil {
		return Claims{}, err
	}
	if err := CheckUser(claims.Subject); err != nil {
		return Claims{}, fmt.Errorf("token subject: %w", err)
	}
	if err := CheckRooms(claims.Rooms); err != nil {
		return Claims{}, fmt.Errorf("token rooms: %w", err)
	}
	return Claims{User: claims.Subject, Rooms: claims.Rooms, ExpiresAt: claims.ExpiresAt.Time}, nil
}

// authenticate returns what a WebSocket request may do, or an error whose
// text is fit for a 401 body. With auth on the token comes from ?token=
// (browsers cannot set headers on a WebSocket) or from "Authorization:
// Bearer"; with auth off the user is ?user=. A token's rooms claim names
// the rooms it may join; without one, Config.RoomsOpen decides.
func (s *Server) authenticate(r *http.Request) (node.Access, error) {
	if !s.cfg.Auth {
		user := r.URL.Query().Get("user")
		if err := CheckUser(user); err != nil {
			return node.Access{}, fmt.Errorf("?user=: %w", err)
		}
		return node.Access{User: user, AnyRoom: *s.cfg.RoomsOpen}, nil
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
		return node.Access{}, errors.New("missing token: pass ?token= or Authorization: Bearer")
	}
	claims, err := VerifyToken(s.cfg.Secret, token, time.Now())
	if err != nil {
		return node.Access{}, errors.New("bad token")
	}
	// The node's clock is Unix milliseconds (the loop ticks with them).
	access := node.Access{User: claims.User, Rooms: claims.Rooms, ExpiresAtMs: claims.ExpiresAt.UnixMilli()}
	if claims.Rooms == nil {
		access.AnyRoom = *s.cfg.RoomsOpen
	}
	return access, nil
}
