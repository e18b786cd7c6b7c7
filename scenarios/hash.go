package scenarios

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Hash identifies what the scenario makes happen: the parsed scenario with
// its defaults filled in, not the file's bytes or where it came from, so
// that a comment or a copy elsewhere keeps the hash and any change to the
// topology, workload, faults or expectations changes it. Two runs are only
// comparable when their hashes match.
func (s *Scenario) Hash() string {
	content := *s
	content.File = ""
	data, err := json.Marshal(content)
	if err != nil {
		// A scenario is plain data: failing to encode one is a bug.
		panic("scenarios: encode for hashing: " + err.Error())
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}
