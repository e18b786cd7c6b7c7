// Package check holds a run's history (what every client saw, one record
// per client event) and the checkers that judge it: no-loss,
// no-duplicates, order, resume, linearizable (porcupine, against a model
// of a room's log), latency, client-dedupe (a frame the client discards
// must be one it already passed to the application), acks (every acked
// send reaches every member at its acked seq), resets (each reset is
// explained by an epoch change or by the retained history) and welcome.
// All of them judge what the application received, not what arrived on
// the wire. CheckFacts adds the checks that also read
// the run's facts (Facts: the fault timeline, the balancer's decision log):
// close-codes (every close carries the code its cause requires; the table
// is in check_close_codes.go), balancer (no pick of a backend marked down
// or draining), cut-off (a stalled client is cut off with 4000 and
// resumes), recovery (latency back within its bound after each fault),
// delivery-lag (a settled receiver is never far behind a message's
// appearance, nor, once a fault heals, behind any message that exists) and rate-limit (no connection had more sends accepted than
// the nodes' send allowance admits).
//
// It depends only on system/client (the events), system/protocol (codes),
// porcupine and the standard library, so that a history is checked the same way wherever it
// was written: by the chaos runner for every target, by the simulator's
// own tests, and by any tool that reads a history.jsonl. It must never
// import the simulator, the runner or the container clients
// (TestDependsOnlyOnTheClientAndPorcupine).
package check
