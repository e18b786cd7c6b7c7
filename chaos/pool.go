package chaos

import (
	"context"
	"sync"
)

// Parallel runs do on every job next hands out, workers at a time, and
// hands each result to done on the caller's goroutine, in the order the
// jobs finish. It stops handing out jobs when next says there are no more
// or ctx is done, and returns once every started job's result is handed
// over. Seed sweeps and hunts share it.
func Parallel[J, R any](ctx context.Context, workers int, next func() (J, bool), do func(J) R, done func(R)) {
	jobs := make(chan J)
	results := make(chan R)
	var running sync.WaitGroup
	for range max(workers, 1) {
		running.Add(1)
		go func() {
			defer running.Done()
			for job := range jobs {
				results <- do(job)
			}
		}()
	}
	go func() {
		defer close(jobs)
		for {
			job, ok := next()
			if !ok {
				return
			}
			select {
			case jobs <- job:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { running.Wait(); close(results) }()
	for r := range results {
		done(r)
	}
}
