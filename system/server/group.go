package server

import "sync"

// group tracks the server's goroutines so that Close can wait for every one
// of them, and refuses new ones once closing has begun.
type group struct {
	mu      sync.Mutex
	closing bool
	running sync.WaitGroup
}

// Go starts f on a goroutine; it reports false, without starting it, once
// closeAndWait has been called.
func (g *group) Go(f func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return false
	}
	g.running.Go(f)
	return true
}

func (g *group) closeAndWait() {
	g.mu.Lock()
	g.closing = true
	g.mu.Unlock()
	g.running.Wait()
}

// enter counts something that is not one goroutine (a connection's reads,
// which run on a goroutine per arrival) as running until leave; it reports
// false, counting nothing, once closeAndWait has been called.
func (g *group) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return false
	}
	g.running.Add(1)
	return true
}

func (g *group) leave() { g.running.Done() }
