package protocol

import "unicode/utf8"

// decodeOutboundFast parses the node frames chatlab itself writes — one
// flat JSON object of strings and whole numbers, without escapes — in one
// pass and without reflection. Anything else (an escape, a nested value, a
// fraction, an unknown or differently cased key, invalid UTF-8) reports
// ok=false and DecodeOutbound takes encoding/json's path, which stays the
// reference: a fuzz test holds the two to the same answers. Every client
// decodes every frame, so this is the simulator's and the load
// generator's hottest path.
func decodeOutboundFast(data []byte) (w outboundWire, ok bool) {
	s := scanner{data: data}
	if !s.consume('{') {
		return w, false
	}
	if s.consume('}') {
		return w, s.end()
	}
	for {
		key, ok := s.plainString()
		if !ok || !s.consume(':') {
			return w, false
		}
		if !s.field(&w, key) {
			return w, false
		}
		if s.consume(',') {
			continue
		}
		if s.consume('}') {
			return w, s.end()
		}
		return w, false
	}
}

// scanner walks a JSON text.
type scanner struct {
	data []byte
	at   int
}

func (s *scanner) skipSpace() {
	for s.at < len(s.data) {
		switch s.data[s.at] {
		case ' ', '\t', '\n', '\r':
			s.at++
		default:
			return
		}
	}
}

// consume takes c after any white space.
func (s *scanner) consume(c byte) bool {
	s.skipSpace()
	if s.at < len(s.data) && s.data[s.at] == c {
		s.at++
		return true
	}
	return false
}

// end reports that nothing but white space follows.
func (s *scanner) end() bool {
	s.skipSpace()
	return s.at == len(s.data)
}

// plainString reads a string with no escapes and valid UTF-8.
func (s *scanner) plainString() (string, bool) {
	if !s.consume('"') {
		return "", false
	}
	start := s.at
	for s.at < len(s.data) {
		c := s.data[s.at]
		switch {
		case c == '"':
			text := s.data[start:s.at]
			s.at++
			if !utf8.Valid(text) {
				return "", false
			}
			return string(text), true
		case c == '\\' || c < 0x20:
			return "", false
		}
		s.at++
	}
	return "", false
}

// uint reads a whole number that fits a uint64.
func (s *scanner) uint() (uint64, bool) {
	s.skipSpace()
	start := s.at
	var value uint64
	for s.at < len(s.data) && s.data[s.at] >= '0' && s.data[s.at] <= '9' {
		digit := uint64(s.data[s.at] - '0')
		if value > (1<<64-1-digit)/10 {
			return 0, false
		}
		value = value*10 + digit
		s.at++
	}
	digits := s.at - start
	if digits == 0 || (digits > 1 && s.data[start] == '0') {
		return 0, false
	}
	if s.at < len(s.data) {
		switch s.data[s.at] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	return value, true
}

// int reads a whole number that fits an int64.
func (s *scanner) int() (int64, bool) {
	s.skipSpace()
	negative := s.at < len(s.data) && s.data[s.at] == '-'
	if negative {
		s.at++
		if s.at < len(s.data) && (s.data[s.at] < '0' || s.data[s.at] > '9') {
			return 0, false
		}
	}
	value, ok := s.uint()
	switch {
	case !ok:
		return 0, false
	case negative && value <= 1<<63:
		return -int64(value), true
	case !negative && value < 1<<63:
		return int64(value), true
	}
	return 0, false
}

func (s *scanner) peek() byte {
	s.skipSpace()
	if s.at < len(s.data) {
		return s.data[s.at]
	}
	return 0
}

// field reads one known key's value into w.
func (s *scanner) field(w *outboundWire, key string) bool {
	var ok bool
	switch key {
	case "type":
		w.Type, ok = s.plainString()
	case "node":
		w.Node, ok = s.plainString()
	case "user":
		w.User, ok = s.plainString()
	case "room":
		w.Room, ok = s.plainString()
	case "id":
		w.ID, ok = s.plainString()
	case "body":
		w.Body, ok = s.plainString()
	case "epoch":
		w.Epoch, ok = s.plainString()
	case "message":
		w.Message, ok = s.plainString()
	case "ref":
		w.Ref, ok = s.plainString()
	case "code":
		var code string
		code, ok = s.plainString()
		w.Code = Code(code)
	case "head":
		w.Head, ok = s.uint()
	case "seq":
		w.Seq, ok = s.uint()
	case "ts":
		w.TS, ok = s.int()
	case "from":
		if s.peek() == '"' {
			w.From.user, ok = s.plainString()
		} else {
			w.From.seq, ok = s.uint()
		}
	}
	return ok
}
