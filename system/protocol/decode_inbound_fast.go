package protocol

// inboundWire holds a client frame's fields as the fast path reads them.
type inboundWire struct {
	typ, room, epoch, ref, id, body string
	since                           uint64
	present                         uint8 // one bit per field, to refuse repeats
}

// Field bits of inboundWire.present.
const (
	fieldType uint8 = 1 << iota
	fieldRoom
	fieldSince
	fieldEpoch
	fieldID
	fieldBody
	fieldRef
)

// fieldsAllowed are the fields each client frame type may carry.
var fieldsAllowed = map[string]uint8{
	TypeJoin:  fieldType | fieldRoom | fieldSince | fieldEpoch | fieldRef,
	TypeLeave: fieldType | fieldRoom,
	TypeSend:  fieldType | fieldRoom | fieldID | fieldBody,
}

// decodeInboundFast reads the client frames well-behaved clients write —
// one flat object of known fields, each once, strings without escapes,
// since a whole number — in one pass. Anything else reports ok=false and
// Decode takes the strict encoding/json path, which stays the reference
// (and gives the precise rejection); a fuzz test holds the two to the same
// answers.
func decodeInboundFast(data []byte) (w inboundWire, ok bool) {
	s := scanner{data: data}
	if !s.consume('{') || s.consume('}') {
		return w, false
	}
	for {
		key, ok := s.plainString()
		if !ok || !s.consume(':') || !s.inboundField(&w, key) {
			return w, false
		}
		if s.consume(',') {
			continue
		}
		if !s.consume('}') || !s.end() {
			return w, false
		}
		allowed, known := fieldsAllowed[w.typ]
		return w, known && w.present&fieldType != 0 && w.present&^allowed == 0
	}
}

// inboundField reads one known field, refusing a repeat.
func (s *scanner) inboundField(w *inboundWire, key string) bool {
	var bit uint8
	var ok bool
	switch key {
	case "type":
		bit = fieldType
		w.typ, ok = s.plainString()
	case "room":
		bit = fieldRoom
		w.room, ok = s.plainString()
	case "since":
		bit = fieldSince
		w.since, ok = s.uint()
	case "epoch":
		bit = fieldEpoch
		w.epoch, ok = s.plainString()
	case "ref":
		bit = fieldRef
		w.ref, ok = s.plainString()
	case "id":
		bit = fieldID
		w.id, ok = s.plainString()
	case "body":
		bit = fieldBody
		w.body, ok = s.plainString()
	default:
		return false
	}
	if !ok || w.present&bit != 0 {
		return false
	}
	w.present |= bit
	return true
}
