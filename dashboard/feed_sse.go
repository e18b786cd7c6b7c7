package dashboard

import (
	"net/http"
	"slices"
	"time"
)

// Bounds on one browser's event stream.
const (
	// feedWriteWait bounds one write: a browser (or a proxy between) that
	// cannot take an event in this long is stuck and is cut off.
	feedWriteWait = 5 * time.Second
	// feedKeepaliveInterval sends a comment on a quiet stream so that a
	// browser that went away is noticed by a failed write.
	feedKeepaliveInterval = 15 * time.Second
	// feedBatchLenMax is how many queued events one flush may carry.
	feedBatchLenMax = 256
)

// serveFeed streams the feed as server-sent events: one JSON event per
// `data:` line. The handler, not the publisher, waits on the browser; when
// the browser falls behind, the feed drops the subscription and this
// handler returns, which closes the stream (EventSource then reconnects
// and gets the replay).
func serveFeed(feed *Feed) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		subscription, ok := feed.Subscribe()
		if !ok {
			http.Error(w, "the feed has ended", http.StatusServiceUnavailable)
			return
		}
		defer feed.Unsubscribe(subscription)
		control := http.NewResponseController(w)
		header := w.Header()
		header.Set("Content-Type", "text/event-stream")
		header.Set("Cache-Control", "no-cache")
		header.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		if !flushWithin(control) {
			return
		}
		keepalive := time.NewTicker(feedKeepaliveInterval)
		defer keepalive.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-keepalive.C:
				if !writeWithin(w, control, []byte(": keepalive\n\n")) || !flushWithin(control) {
					return
				}
			case line, open := <-subscription.Events:
				if !open || !writeEvents(w, control, line, subscription.Events) {
					return
				}
			}
		}
	}
}

// writeEvents writes first and whatever else is queued, up to
// feedBatchLenMax events, then flushes once.
func writeEvents(w http.ResponseWriter, control *http.ResponseController, first []byte, events <-chan []byte) bool {
	if !writeEvent(w, control, first) {
		return false
	}
	for range feedBatchLenMax - 1 {
		select {
		case line, open := <-events:
			if !open || !writeEvent(w, control, line) {
				return false
			}
		default:
			return flushWithin(control)
		}
	}
	return flushWithin(control)
}

func writeEvent(w http.ResponseWriter, control *http.ResponseController, line []byte) bool {
	return writeWithin(w, control, slices.Concat([]byte("data: "), line, []byte("\n\n")))
}

func writeWithin(w http.ResponseWriter, control *http.ResponseController, data []byte) bool {
	if err := control.SetWriteDeadline(time.Now().Add(feedWriteWait)); err != nil {
		return false
	}
	_, err := w.Write(data)
	return err == nil
}

func flushWithin(control *http.ResponseController) bool {
	if err := control.SetWriteDeadline(time.Now().Add(feedWriteWait)); err != nil {
		return false
	}
	return control.Flush() == nil
}
