//go:build linux

package socket

import (
	"testing"
	"time"
)

// testWait bounds a wait for something that must happen; a loaded machine
// stays far within it.
const testWait = 20 * time.Second

// A watched socket's ready function runs once per arming when it has bytes,
// and once more for its end; a socket shut down while it waits wakes its
// wait, so that its owner learns of the end.
func TestPollerRunsReadyOncePerArming(t *testing.T) {
	p, err := NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	a, b := tcpPair(t)
	reads := make(chan string, 8)
	ends := make(chan struct{}, 1)
	_, err = p.Watch(b, func(w *Watch) {
		buffer := make([]byte, 64)
		n, err := b.Read(buffer)
		if err != nil {
			w.Release()
			ends <- struct{}{}
			return
		}
		reads <- string(buffer[:n])
		if err := w.Arm(); err != nil {
			t.Errorf("arm: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, message := range []string{"one", "two", "three"} {
		if _, err := a.Write([]byte(message)); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-reads:
			if got != message {
				t.Fatalf("read %q, want %q", got, message)
			}
		case <-time.After(testWait):
			t.Fatalf("no ready call for %q", message)
		}
	}
	// The watched socket's own shutdown wakes the wait to its end.
	b.CloseRead()
	select {
	case <-ends:
	case got := <-reads:
		t.Fatalf("read %q after the shutdown, want the end", got)
	case <-time.After(testWait):
		t.Fatal("a shut-down socket's wait never ended")
	}
}

// A peer that hangs up ends the wait too.
func TestPollerSeesThePeerHangUp(t *testing.T) {
	p, err := NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	a, b := tcpPair(t)
	ends := make(chan error, 1)
	if _, err := p.Watch(b, func(w *Watch) {
		_, err := b.Read(make([]byte, 8))
		w.Release()
		ends <- err
	}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	select {
	case err := <-ends:
		if err == nil {
			t.Fatal("read after the peer's close returned no error")
		}
	case <-time.After(testWait):
		t.Fatal("the peer's close never woke the wait")
	}
}
