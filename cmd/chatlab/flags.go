package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"

	"chatlab/system/admin"
	"chatlab/system/server"
)

// secretEnv holds the token secret when no --secret-file is given.
const secretEnv = "CHATLAB_SECRET"

// flagSet is one command's flags: parse errors and bad values print one
// line naming the problem plus a hint, to stderr, and exit 2.
type flagSet struct {
	*flag.FlagSet
	name     string
	synopsis string
	stdout   io.Writer
	stderr   io.Writer
}

func newFlagSet(name, synopsis string, stdout, stderr io.Writer) *flagSet {
	set := flag.NewFlagSet("chatlab "+name, flag.ContinueOnError)
	// The flag package's own messages are replaced by usageError's.
	set.SetOutput(io.Discard)
	return &flagSet{FlagSet: set, name: name, synopsis: synopsis, stdout: stdout, stderr: stderr}
}

// parse reads args; done reports that the command must return code now
// (0 after --help, 2 after a bad flag).
func (f *flagSet) parse(args []string) (code int, done bool) {
	err := f.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		f.printUsage()
		return 0, true
	case err != nil:
		return f.usageError("%s", err), true
	case f.NArg() > 0:
		return f.usageError("unexpected argument %q", f.Arg(0)), true
	}
	return 0, false
}

func (f *flagSet) printUsage() {
	fmt.Fprintf(f.stdout, "Usage: %s %s [flags]\n\n%s\n\nFlags:\n", invocation, f.name, f.synopsis)
	f.SetOutput(f.stdout)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
}

// usageError prints the problem and a hint and returns exit code 2.
func (f *flagSet) usageError(format string, args ...any) int {
	fmt.Fprintf(f.stderr, "chatlab %s: %s\nRun '%s %s --help' for usage.\n", f.name, fmt.Sprintf(format, args...), invocation, f.name)
	return 2
}

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,32}$`)

func checkNodeID(id string) error {
	if !nodeIDPattern.MatchString(id) {
		return fmt.Errorf("--id %q: want 1 to 32 characters of A-Z a-z 0-9 . _ -", id)
	}
	return nil
}

// checkListen accepts host:port with a numeric port; an empty host listens
// on every interface.
func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: want host:port, e.g. 127.0.0.1:8080 or :8080", addr)
	}
	if number, err := strconv.ParseUint(port, 10, 16); err != nil || (number == 0 && port != "0") {
		return fmt.Errorf("--listen %q: port %q is not a number from 0 to 65535", addr, port)
	}
	return nil
}

// adminListenDefault keeps the operator endpoints on loopback, on a free
// port that the start-up log names; an operator sets a fixed one.
const adminListenDefault = "127.0.0.1:0"

func checkAdminListen(addr string) error {
	if err := checkListen(addr); err != nil {
		return fmt.Errorf("--admin-listen %q: want host:port, e.g. 127.0.0.1:9090", addr)
	}
	return nil
}

// loadAdminToken reads --admin-token-file; no file means no token.
func loadAdminToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--admin-token-file: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if err := admin.CheckToken(token); err != nil {
		return "", fmt.Errorf("--admin-token-file %s: %w", path, err)
	}
	return token, nil
}

// onOff reads an on|off flag value.
func onOff(flagName, value string) (bool, error) {
	switch value {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, fmt.Errorf("--%s %q: want on or off", flagName, value)
}

// loadSecret reads the token secret from --secret-file, else from
// $CHATLAB_SECRET. Surrounding whitespace (a trailing newline) is dropped.
func loadSecret(path string) ([]byte, error) {
	var secret string
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--secret-file: %w", err)
		}
		secret = strings.TrimSpace(string(data))
	} else {
		secret = strings.TrimSpace(os.Getenv(secretEnv))
		if secret == "" {
			return nil, fmt.Errorf("no secret: pass --secret-file or set %s", secretEnv)
		}
	}
	if err := server.CheckSecret([]byte(secret)); err != nil {
		return nil, err
	}
	return []byte(secret), nil
}

// newLogger builds the structured logger a command logs to stderr with.
func newLogger(format, level string, stderr io.Writer) (*slog.Logger, error) {
	levels := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}
	minimum, ok := levels[level]
	if !ok {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	options := &slog.HandlerOptions{Level: minimum}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(stderr, options)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(stderr, options)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// Bounds of --socket-buffer: below a few kilobytes TCP crawls; above 16 MiB
// the cap caps nothing.
const (
	socketBufferFlagMin = 4 * 1024
	socketBufferFlagMax = 16 * 1024 * 1024
)

func checkSocketBuffer(bytes int) error {
	if bytes != 0 && (bytes < socketBufferFlagMin || bytes > socketBufferFlagMax) {
		return fmt.Errorf("--socket-buffer %d: want 0 (the kernel's default) or %d to %d bytes", bytes, socketBufferFlagMin, socketBufferFlagMax)
	}
	return nil
}
