// Package sim runs the whole chat system (nodes, the balancer, clients,
// Redis and the network between them) in one deterministic event loop under
// a virtual clock and one seed.
//
// Everything that can vary between runs comes from the World: the clock
// (virtual, advanced only by the event loop), the randomness (one seeded
// PCG source from which every component derives its own in a fixed order)
// and the order of events (a heap ordered by virtual time, then by the
// sequence number assigned when the event was scheduled). So a seed
// replays a run exactly, and a minute of cluster time takes milliseconds.
//
// The state machines of system/node, system/client and system/balance run
// unchanged inside hosts (node_host.go, client_host.go, balancer_host.go)
// that carry out their Ready effects over the simulated network
// (network.go, conn.go) and against the simulated Redis. That Redis is a
// small keyspace on the virtual clock (redis.go) running the broker's own
// Lua scripts in gopher-lua (redis_lua.go, system/broker/redisscript); it
// answers a node's calls in a seeded order, as calls spread over pooled
// connections come back, and carries pub/sub on a connection of its own
// (redis_host.go). Node hosts schedule calls by system/server's rules
// (node_calls.go) and run the pub/sub link by system/broker's (node_link.go).
// The
// Cluster (cluster.go) is the API for the chaos runner: it builds a
// topology, schedules faults (faults.go) and workload (workload.go), runs,
// and collects the client histories, host snapshots and the trace hash.
//
// The package is sans-IO like the state machines it runs: no wall clock,
// no global randomness, no goroutines, no channels, and map order never
// reaches the output (purity_test.go enforces it for sim and system/*).
package sim
