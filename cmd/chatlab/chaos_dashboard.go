package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"chatlab/chaos"
	"chatlab/dashboard"
	"chatlab/dashboard/runfeed"
)

// startChaosDashboard serves the live dashboard during a run when
// --dashboard is given, and wires the run to its feed. stop ends the
// dashboard (after the run, or once interrupted with --hold).
func startChaosDashboard(ctx context.Context, options chaosOptions, run *chaos.RunOptions, stderr io.Writer) (observer *runfeed.Observer, stop func(), err error) {
	if options.dashboard == "" {
		return nil, func() {}, nil
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	server, err := dashboard.Start(ctx, dashboard.Options{Listen: options.dashboard, RunsDir: filepath.Join(options.out, "runs"), Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(stderr, "dashboard: http://%s/\n", server.Addr())
	observer = runfeed.New(server.Feed(), runfeed.Run{Scenario: options.scenario, Target: options.target, Seed: run.Seed,
		Delivery: options.delivery, Pace: options.pace})
	run.Observer = observer
	return observer, server.Close, nil
}
