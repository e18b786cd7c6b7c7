// Package check holds a run's history (what every client saw, one record
// per client event) and the checkers that judge it: no-loss,
// no-duplicates, order, resume, linearizable (porcupine, against a model
// of a room's log) and latency.
//
// It depends only on system/client (the events), porcupine and the
// standard library, so that a history is checked the same way wherever it
// was written: by the chaos runner for every target, by the simulator's
// own tests, and by any tool that reads a history.jsonl. It must never
// import the simulator, the runner or the container clients
// (TestDependsOnlyOnTheClientAndPorcupine).
package check
