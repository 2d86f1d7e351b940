package sandbox

// Traffic shaping: the upstream stand-ins are "the internet" (Config.UpstreamLatency per request and
// Config.UpstreamBandwidth on response bodies) and the cache is "the same region" (Config.CacheLatency),
// so benchmarks can show what a pull-through cache saves. Every wait gives up when the request's
// context ends.

import (
	"context"
	"net/http"
	"time"
)

// sleepCtx waits for d or until ctx ends, whichever is first, and returns ctx's error in the second case.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// throttledWriter paces a response body to bps bytes per second: it writes in small chunks and sleeps
// until the bytes written so far are due, flushing after each chunk so the client sees a steady stream.
type throttledWriter struct {
	http.ResponseWriter
	ctx     context.Context
	bps     int64
	start   time.Time
	written int64
}

func (t *throttledWriter) Write(p []byte) (int, error) {
	if t.start.IsZero() {
		t.start = time.Now()
	}
	chunk := int(max(t.bps/50, 512)) // about 20 ms of transfer per write
	n := 0
	for len(p) > 0 {
		c := min(len(p), chunk)
		due := t.start.Add(time.Duration(float64(t.written+int64(c)) / float64(t.bps) * float64(time.Second)))
		if err := sleepCtx(t.ctx, time.Until(due)); err != nil {
			return n, err
		}
		w, err := t.ResponseWriter.Write(p[:c])
		n += w
		t.written += int64(w)
		if err != nil {
			return n, err
		}
		if f, ok := t.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		p = p[c:]
	}
	return n, nil
}

// Flush passes through to the underlying writer.
func (t *throttledWriter) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (t *throttledWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
