package main

import (
	"fmt"
	"io"
	"time"

	"chatlab/chaos"
	"chatlab/chaos/check"
)

// runProgress shows a single real run as it goes, which takes its
// workload's duration and more: on a terminal one line redrawn in place
// (phase, run time, the last fault), otherwise a plain line per phase and
// per fault.
type runProgress struct {
	w        io.Writer
	terminal bool
	label    string // "node-restart on local, seed 1"
	duration time.Duration
	start    time.Time
	phase    chaos.Phase
	fault    string
	at       time.Duration
}

func newRunProgress(w io.Writer, options chaosOptions) *runProgress {
	return &runProgress{w: w, terminal: isTerminal(w), start: time.Now(), duration: options.scenario.Workload.Duration,
		label: fmt.Sprintf("%s on %s, seed %d", options.scenario.Name, options.target, options.seedFirst)}
}

func (p *runProgress) Phase(phase chaos.Phase, at time.Duration) {
	p.phase, p.at = phase, at
	if !p.terminal {
		fmt.Fprintf(p.w, "%s: %s at %s (%s wall)\n", p.label, phase, at.Round(time.Millisecond), p.wall())
	}
	p.redraw()
}

func (p *runProgress) Step(at time.Duration, step chaos.Step) {
	action, target := step.Label()
	p.fault, p.at = fmt.Sprintf("%s %s at %s", action, target, at.Round(time.Millisecond)), at
	if !p.terminal {
		fmt.Fprintf(p.w, "%s: %s\n", p.label, p.fault)
	}
	p.redraw()
}

func (p *runProgress) Sample(sample chaos.Sample, _ check.History) {
	p.at = time.Duration(sample.AtMs) * time.Millisecond
	p.redraw()
}

// Checked ends the progress line: the verdict comes next.
func (p *runProgress) Checked([]check.Check) { p.clear() }

// clear wipes the progress line, for what is printed next.
func (p *runProgress) clear() {
	if p != nil && p.terminal {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func (p *runProgress) wall() time.Duration { return time.Since(p.start).Round(100 * time.Millisecond) }

func (p *runProgress) redraw() {
	if !p.terminal {
		return
	}
	line := fmt.Sprintf("%s: %s, %s of %s run time, %s wall", p.label, p.phase, p.at.Round(100*time.Millisecond), p.duration, p.wall())
	if p.fault != "" {
		line += "; last fault: " + p.fault
	}
	fmt.Fprint(p.w, "\r\033[K"+line)
}

// observers hands every event of a run to each of several observers (the
// dashboard and the progress line).
type observers []chaos.Observer

func (o observers) Step(at time.Duration, step chaos.Step) {
	for _, each := range o {
		each.Step(at, step)
	}
}

func (o observers) Sample(sample chaos.Sample, history check.History) {
	for _, each := range o {
		each.Sample(sample, history)
	}
}

func (o observers) Checked(checks []check.Check) {
	for _, each := range o {
		each.Checked(checks)
	}
}

func (o observers) Phase(phase chaos.Phase, at time.Duration) {
	for _, each := range o {
		if listener, ok := each.(chaos.PhaseObserver); ok {
			listener.Phase(phase, at)
		}
	}
}
