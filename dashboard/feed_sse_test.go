package dashboard

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// sseWait bounds a test's wait for the server; it only matters on failure.
const sseWait = 10 * time.Second

func openFeed(t *testing.T, url string) *http.Response {
	t.Helper()
	response, err := http.Get(url + "/api/feed")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { response.Body.Close() })
	if response.StatusCode != http.StatusOK || response.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /api/feed: %s %q", response.Status, response.Header.Get("Content-Type"))
	}
	return response
}

// waitFor polls cond until it holds or sseWait passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(sseWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestTheFeedStreamsEachEventAsOneDataLine(t *testing.T) {
	feed := NewFeed()
	feed.Publish(Topology{Nodes: []string{"n1", "n2"}, Balancer: "balancer", Redis: "redis"})
	server := httptest.NewServer(Handler(Options{Feed: feed, RunsDir: t.TempDir()}))
	defer server.Close()
	defer feed.Close()
	lines := bufio.NewScanner(openFeed(t, server.URL).Body)
	next := func() string {
		for lines.Scan() {
			if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
				return data
			}
		}
		t.Fatalf("stream ended: %v", lines.Err())
		return ""
	}
	if got := next(); !strings.Contains(got, `"kind":"topology"`) || !strings.Contains(got, `"n2"`) {
		t.Errorf("first event = %s, want the topology", got)
	}
	feed.Publish(Fault{AtMs: 8000, Action: "restart", Target: "n1"})
	if got, want := next(), `{"kind":"fault","data":{"at_ms":8000,"action":"restart","target":"n1"}}`; got != want {
		t.Errorf("event = %s, want %s", got, want)
	}
}

func TestABrowserThatStopsReadingIsCutOffNotWaitedFor(t *testing.T) {
	feed := NewFeed()
	server := httptest.NewServer(Handler(Options{Feed: feed, RunsDir: t.TempDir()}))
	defer server.Close()
	defer feed.Close()
	stuck := openFeed(t, server.URL)
	waitFor(t, "the browser to subscribe", func() bool { return feed.Counters().Subscribers == 1 })
	// Large events fill the socket buffers, then the subscriber's queue.
	// Publish must go on returning at once all the while. The browser is
	// cut off either by the feed (its queue is full) or by the stream's
	// write deadline (when publishing is slow, as under the race detector).
	text := strings.Repeat("x", 16<<10)
	const publishesMax = 20_000
	published := 0
	for feed.Counters().Subscribers == 1 && published < publishesMax {
		feed.Publish(Log{Text: text})
		published++
	}
	if counters := feed.Counters(); counters.Subscribers != 0 {
		t.Fatalf("after %d events: %+v, want the stuck browser cut off", published, counters)
	}
	// The stream the browser was cut off from ends: reading it reaches
	// its end, or is cut mid-chunk when the write deadline dropped it.
	if _, err := io.Copy(io.Discard, stuck.Body); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reading the dropped stream: %v", err)
	}
	t.Logf("stuck browser cut off after %d events of 16 KiB (%d by the feed)", published, feed.Counters().Dropped)
}

func TestTheAppPageIsServedBuiltOrNot(t *testing.T) {
	server := httptest.NewServer(Handler(Options{RunsDir: t.TempDir()}))
	defer server.Close()
	response, err := http.Get(server.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(response.Body)
	response.Body.Close()
	if response.StatusCode != http.StatusOK || !strings.HasPrefix(response.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %s %q", response.Status, response.Header.Get("Content-Type"))
	}
	built := builtApp() != nil
	if !built && !strings.Contains(string(body), "make dashboard") {
		t.Errorf("without the built app, / = %q, want the page saying how to build it", body)
	}
	if built && !strings.Contains(string(body), `id="root"`) {
		t.Errorf("with the built app, / = %q, want the app's page", body)
	}
}
