// Package loadgen drives system/client state machines over real WebSocket
// connections: the lab's real clients (the local and docker targets, the
// end-to-end tests and `chatlab load`). Each Client runs one state machine
// in its own goroutine, exactly as the simulator runs it in its event loop,
// and records the machine's events as the run's history.
package loadgen
