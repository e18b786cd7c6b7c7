package check

// RuntimeSample is one process's resource figures at one moment of a real
// run, read from its admin listener's /metrics (Go's and the process's
// standard Prometheus collectors): what a leak leaves behind.
type RuntimeSample struct {
	// AtMs is on the run's clock.
	AtMs int64 `json:"at_ms"`
	// Member names the node or "balancer".
	Member string `json:"member"`
	// StartedMs is when the process started, on the run's clock (negative:
	// before the clients were let in). A new value for a member is a new
	// process: a restart.
	StartedMs int64 `json:"started_ms"`
	// Goroutines is go_goroutines.
	Goroutines int `json:"goroutines"`
	// HeapBytes is go_memstats_heap_inuse_bytes: spans holding objects,
	// garbage included unless the sample followed a collection.
	HeapBytes int64 `json:"heap_bytes"`
	// OpenFDs is process_open_fds (Linux): sockets, files, pipes.
	OpenFDs int `json:"open_fds"`
	// Settled marks a sample taken after the clients left and the process
	// had a moment to let go of them, its heap just garbage-collected: the
	// figures the no-leak check compares with the process's first sample.
	Settled bool `json:"settled,omitempty"`
}
