package balance

// Ready is everything the balancer wants done since the last call to Ready,
// each list in the order the balancer produced it.
type Ready struct {
	// HealthChecks names the backends to check now. Answer each with
	// HealthResult.
	HealthChecks []string
	// Sheds are client connections to close with protocol.CloseReconnect.
	Sheds []Shed
	// Transitions are backends that went down or came up.
	Transitions []Transition
	// Decisions is the balancer's decision log since the last Ready: picks,
	// health changes, drains and sheds, in the order taken.
	Decisions []Decision
}

// Empty reports whether there is nothing to do.
func (r *Ready) Empty() bool {
	return len(r.HealthChecks) == 0 && len(r.Sheds) == 0 && len(r.Transitions) == 0 && len(r.Decisions) == 0
}
