// Package balance holds the load balancer's decisions as a pure state
// machine: which backend a new connection goes to, which backends are
// healthy, which connections to shed. It does no I/O, reads no clock, starts
// no goroutines and lets no map order reach its output, so the real proxy
// (system/proxy) and the deterministic simulator (sim/) run it unchanged.
//
// # Inputs
//
//	b, err := balance.New(balance.Config{Backends: ..., Policy: balance.LeastConnections})
//	backend, ok, refusal := b.Pick(conn, user) // a client asks to connect
//	b.Opened(conn)                             // the backend accepted the upgrade
//	b.DialFailed(conn)                         // the backend could not be reached: down after DialDownAfter in a row
//	b.Closed(conn)                             // the connection is over (or the attempt abandoned)
//	b.HealthResult(backend, ok)                // the answer to a check listed in Ready().HealthChecks
//	b.Drain(backend) / b.Undrain(backend)      // an operator takes a backend out of (back into) rotation
//	b.Tick(nowMs)                              // the clock: drives checks, rate limits and shedding
//	r := b.Ready()                             // everything to do since the last call
//	s := b.Snapshot()                          // JSON-friendly state for /state and /metrics
//
// # The life of a connection
//
// The runtime chooses a ConnID per client attempt and never reuses it. Pick
// reserves a slot on a backend (it counts as pending load at once, so a burst
// of picks spreads before any dial completes). Then exactly one of: Opened
// (pending becomes open), DialFailed (the slot is released, the backend goes
// down once DialDownAfter dials to it failed in a row, and the runtime may
// Pick again for the same conn, once, without spending another rate token;
// the retry avoids the backend that failed), or Closed. A dial that failed
// because the client gave up is no DialFailed: the runtime reports Closed,
// so no client can take a healthy backend out by aborting its upgrades. Closed ends the connection in any
// state; a conn the balancer already shed is forgotten, so a later Closed for
// it is ignored. A refused Pick records nothing.
//
// # Policies
//
// RoundRobin takes eligible backends in name order. LeastConnections takes
// the eligible backend with the fewest open plus pending connections, ties
// broken round-robin. HashUser places each user on a ring of virtual nodes
// (FNV-1a, fixed, so every balancer and every run agrees) and walks the ring
// to the first eligible backend whose load is under
// ceil(HashLoadFactor * (load+1) / eligible): a user sticks to one backend,
// but a hot set of users cannot push one backend past the bound.
//
// A backend is eligible when it is up, not draining and under
// ConnectionsPerBackendMax. New connections are limited by a token bucket
// (NewConnectionsPerSecondMax, NewConnectionsBurst) that turns a reconnect
// storm into a steady stream; the refused client is told to retry.
//
// # Health
//
// Every HealthIntervalMs, Ready().HealthChecks names the backends to check
// (at most one check in flight per backend; the runtime must answer each one,
// a timeout counting as a failure). A backend goes down after
// HealthDownAfter consecutive failed checks, or at once when a dial to it
// fails; it comes back up after HealthUpAfter consecutive good checks.
// Backends start up, so the balancer serves before the first check.
// Ready().Transitions reports each change.
//
// # Shedding
//
// A draining backend's open connections are shed, at most ShedPerSecondMax
// per second in total, newest first. With Rebalance on, a backend coming
// back (up again, or undrained) starts a rebalance episode: while the spread
// (max-min open connections over eligible backends) exceeds
// RebalanceSpreadMax times the mean, and a move could narrow it, the fullest
// backend sheds a connection, within the same per-second budget and at most
// the episode's excess (connections above the mean when it began), so it
// never sheds more than evening out needs. Under HashUser it sheds only
// users whose home on the ring is elsewhere, since others would come
// straight back. Ready().Sheds lists them: the runtime closes each with
// protocol.CloseReconnect ("reconnect and resume"); the balancer already
// counts them as gone.
package balance
