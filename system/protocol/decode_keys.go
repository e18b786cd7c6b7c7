package protocol

import (
	"bytes"
	"encoding/json"
	"strings"
)

// inboundKeys are the keys of every client frame type, spelled exactly.
var inboundKeys = []string{"type", "room", "since", "epoch", "ref", "id", "body"}

// checkKeys refuses what encoding/json would quietly accept in a client
// frame's top-level object: a key given twice (the last would win, so that
// a send ending in "type":"join" would be a join) and a known key spelled
// in another case ("Type"). It leaves anything it cannot read to the
// strict decoder, which words that rejection.
func checkKeys(data []byte) *Reject {
	decoder := json.NewDecoder(bytes.NewReader(data))
	if token, err := decoder.Token(); err != nil || token != json.Delim('{') {
		return nil
	}
	seen := map[string]bool{}
	for decoder.More() {
		token, err := decoder.Token()
		if err != nil {
			return nil
		}
		key, _ := token.(string)
		for _, known := range inboundKeys {
			if key != known && strings.EqualFold(key, known) {
				return rejectf(CodeUnknownField, "", "unknown field %q: keys are case-sensitive (%q)", truncate(key, 32), known)
			}
		}
		if seen[key] {
			return rejectf(CodeBadJSON, "", "field %q appears twice", truncate(key, 32))
		}
		seen[key] = true
		var value json.RawMessage
		if err := decoder.Decode(&value); err != nil {
			return nil
		}
	}
	return nil
}
