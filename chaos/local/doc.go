// Package local is the chaos lab's local target: real `chatlab node` and
// `chatlab balancer` OS processes on 127.0.0.1, Redis embedded in the
// runner (miniredis) or a redis-server child, and a FaultProxy on every
// node's Redis link and every balancer-to-node link. Faults are real: kill
// -9, SIGSTOP and SIGCONT, restarts, and partitions, delays and losses
// made by the proxies. Every child dies with the cluster (Close) and with
// the runner (the kernel's parent-death signal), so a run leaves no
// orphans behind.
package local
