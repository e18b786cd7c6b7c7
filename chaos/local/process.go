package local

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// processExitWait bounds the wait for a signalled child to exit; SIGKILL
// cannot be ignored, so reaching it means the kernel is stuck.
const processExitWait = 10 * time.Second

// process is one child: its command line is fixed, so a restart runs the
// same program on the same ports.
type process struct {
	name    string
	path    string
	args    []string
	logPath string
	cmd     *exec.Cmd
	log     *os.File
	exited  chan struct{}
}

// start runs the child with its output appended to its log file.
func (p *process) start() error {
	if p.running() {
		return fmt.Errorf("%s is already running", p.name)
	}
	log, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "--- %s start: %s %v\n", time.Now().Format(time.RFC3339Nano), p.path, p.args)
	cmd := exec.Command(p.path, p.args...)
	cmd.Stdout, cmd.Stderr = log, log
	// The kernel kills the child if the runner dies without Close, so that
	// a crashed test leaves no orphan holding ports.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.cmd, p.log, p.exited = cmd, log, make(chan struct{})
	go func(exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(p.exited)
	return nil
}

func (p *process) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// exitCode is the exit status of the child's last run once it has ended
// (-1 when it was killed by a signal), and -1 while it runs.
func (p *process) exitCode() int {
	if p.cmd == nil || p.running() {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// pid is the child's process id, 0 when it is not running.
func (p *process) pid() int {
	if !p.running() {
		return 0
	}
	return p.cmd.Process.Pid
}

// signal sends sig to a running child.
func (p *process) signal(sig syscall.Signal) error {
	if !p.running() {
		return fmt.Errorf("%s is not running", p.name)
	}
	return p.cmd.Process.Signal(sig)
}

// pause stops (SIGSTOP) or continues (SIGCONT) the child and waits until
// the kernel reports it so: a signal is delivered asynchronously, and a
// fault must be in place when the call returns.
func (p *process) pause(on bool) error {
	sig := syscall.SIGCONT
	if on {
		sig = syscall.SIGSTOP
	}
	if err := p.signal(sig); err != nil {
		return err
	}
	deadline := time.Now().Add(processExitWait)
	for time.Now().Before(deadline) {
		stopped, err := processStopped(p.cmd.Process.Pid)
		if err != nil || stopped == on {
			return err
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("%s did not take %s", p.name, sig)
}

// processStopped reads the state letter of /proc/PID/stat (after the
// command name in parentheses, which may hold spaces): T is stopped.
func processStopped(pid int) (bool, error) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false, err
	}
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 || end+2 >= len(stat) {
		return false, fmt.Errorf("unreadable /proc/%d/stat", pid)
	}
	return stat[end+2] == 'T', nil
}

// stop sends sig and waits for the child to exit; a stopped (SIGSTOP)
// child is continued first so that it can act on a catchable signal.
func (p *process) stop(sig syscall.Signal, wait time.Duration) error {
	if !p.running() {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	if sig != syscall.SIGKILL {
		_ = p.cmd.Process.Signal(syscall.SIGCONT)
	}
	select {
	case <-p.exited:
	case <-time.After(wait):
		_ = p.cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(processExitWait):
			return fmt.Errorf("%s did not exit after SIGKILL", p.name)
		}
	}
	p.log.Close()
	return nil
}

// kill is kill -9 and the wait for the exit.
func (p *process) kill() error { return p.stop(syscall.SIGKILL, processExitWait) }
