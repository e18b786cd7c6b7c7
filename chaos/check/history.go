package check

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"chatlab/system/client"
)

// Record is one client event of a run: the history the checkers read. The
// simulator stamps AtMs with virtual time, the real targets with Unix
// milliseconds; either way every client of a run shares one clock.
type Record struct {
	Client string `json:"client"`
	client.Event
}

// History is a run's records in the order they happened.
type History []Record

// WriteJSONL writes one record per line (history.jsonl).
func (h History) WriteJSONL(w io.Writer) error {
	buffered := bufio.NewWriter(w)
	encoder := json.NewEncoder(buffered)
	for i := range h {
		if err := encoder.Encode(&h[i]); err != nil {
			return fmt.Errorf("write history record %d: %w", i, err)
		}
	}
	return buffered.Flush()
}

// ReadJSONL reads a history written by WriteJSONL.
func ReadJSONL(r io.Reader) (History, error) {
	var history History
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 1; scanner.Scan(); line++ {
		var record Record
		if err := json.Unmarshal(scanner.Bytes(), &record); err != nil {
			return nil, fmt.Errorf("history line %d: %w", line, err)
		}
		history = append(history, record)
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	return history, nil
}
