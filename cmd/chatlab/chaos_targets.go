package main

import (
	"context"
	"fmt"
	"os"
	"time"

	tclog "github.com/testcontainers/testcontainers-go/log"

	"chatlab/chaos"
	"chatlab/chaos/local"
	"chatlab/scenarios"
)

// dockerReadyWait bounds the check that a Docker daemon answers and has
// the images.
const dockerReadyWait = 10 * time.Second

func newLocalTarget(sc *scenarios.Scenario, options chaosOptions, seed uint64) (chaos.Cluster, error) {
	if options.mutation != "" {
		return nil, chaos.Refused("--mutation breaks the simulator's nodes only; the local target runs this chatlab binary as built")
	}
	binary, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("the local target runs this chatlab binary, which cannot be found: %w", err)
	}
	redis := options.redis
	if redis == "server" {
		redis = local.RedisServer
	}
	return chaos.NewLocalCluster(sc, chaos.LocalOptions{Seed: seed, Delivery: options.delivery, Binary: binary, Redis: redis})
}

// checkRedisChoice checks --redis: server, embedded, cluster or a redis://
// URL for the local target; cluster alone for the simulator (its Redis
// Cluster model); nothing for docker, which runs its own container.
func checkRedisChoice(choice, target string) (string, error) {
	switch {
	case choice == "":
		return "", nil
	case target == "sim" && choice == local.RedisCluster:
		return choice, nil
	case target != "local":
		return "", fmt.Errorf("--redis chooses the local target's Redis (and, as cluster, the simulator's); --target %s has its own", target)
	case choice == "server", choice == local.RedisEmbedded, choice == local.RedisCluster, local.IsRedisURL(choice):
		return choice, nil
	}
	return "", fmt.Errorf("--redis %q: want server, embedded, cluster or a redis:// URL", choice)
}

func newDockerTarget(sc *scenarios.Scenario, options chaosOptions, seed uint64) (chaos.Cluster, error) {
	if options.mutation != "" {
		return nil, chaos.Refused("--mutation breaks the simulator's nodes only; the docker target runs the chatlab:dev image as built")
	}
	// A scenario the docker target refuses is refused before the daemon is
	// asked anything: the refusal holds wherever it runs.
	cluster, err := chaos.NewDockerCluster(sc, chaos.DockerOptions{Seed: seed, Delivery: options.delivery})
	if err != nil {
		return nil, err
	}
	// testcontainers greets on its first call with the daemon's details;
	// the command's output is the run's verdict and report path only.
	tclog.SetDefault(tclog.NewNoopLogger())
	ctx, cancel := context.WithTimeout(context.Background(), dockerReadyWait)
	defer cancel()
	if err := chaos.DockerReady(ctx); err != nil {
		return nil, err
	}
	return cluster, nil
}
