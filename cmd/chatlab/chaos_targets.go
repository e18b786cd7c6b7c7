package main

import (
	"context"
	"fmt"
	"os"
	"time"

	tclog "github.com/testcontainers/testcontainers-go/log"

	"chatlab/chaos"
	"chatlab/scenarios"
)

// dockerReadyWait bounds the check that a Docker daemon answers and has
// the images.
const dockerReadyWait = 10 * time.Second

// The real targets: --target local runs this very binary as the nodes and
// the balancer; --target docker runs the chatlab:dev image.
func init() {
	chaosTargets["local"] = newLocalTarget
	chaosTargets["docker"] = newDockerTarget
}

func newLocalTarget(sc *scenarios.Scenario, options chaosOptions, seed uint64) (chaos.Cluster, error) {
	if options.mutation != "" {
		return nil, fmt.Errorf("--mutation breaks the simulator's nodes only; the local target runs this chatlab binary as built")
	}
	binary, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("the local target runs this chatlab binary, which cannot be found: %w", err)
	}
	return chaos.NewLocalCluster(sc, chaos.LocalOptions{Seed: seed, Delivery: options.delivery, Binary: binary})
}

func newDockerTarget(sc *scenarios.Scenario, options chaosOptions, seed uint64) (chaos.Cluster, error) {
	if options.mutation != "" {
		return nil, fmt.Errorf("--mutation breaks the simulator's nodes only; the docker target runs the chatlab:dev image as built")
	}
	// testcontainers greets on its first call with the daemon's details;
	// the command's output is the run's verdict and report path only.
	tclog.SetDefault(tclog.NewNoopLogger())
	ctx, cancel := context.WithTimeout(context.Background(), dockerReadyWait)
	defer cancel()
	if err := chaos.DockerReady(ctx); err != nil {
		return nil, err
	}
	return chaos.NewDockerCluster(sc, chaos.DockerOptions{Seed: seed, Delivery: options.delivery})
}
