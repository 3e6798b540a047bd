package bridge

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Event is one JSON line on stdout. "event" names the kind; the other keys depend on it
// (see README.md, "Events"). Keys are camelCase so the TypeScript side reads them as is.
type Event map[string]interface{}

// Emitter writes events as JSON lines. It is safe for concurrent use: each event is one
// Write call under a mutex, so lines never interleave.
type Emitter struct {
	mu  sync.Mutex
	out io.Writer
}

// NewEmitter returns an Emitter writing to out (stdout in the program).
func NewEmitter(out io.Writer) *Emitter {
	return &Emitter{out: out}
}

// Emit adds "event" and a wall-clock "time" (RFC 3339, ms), leaves out empty optional
// fields, and writes one line.
func (e *Emitter) Emit(kind string, fields Event) {
	line := Event{"event": kind, "time": time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00")}
	for k, v := range fields {
		if v == nil || v == "" {
			continue // optional fields are absent rather than empty
		}
		line[k] = v
	}
	data, err := json.Marshal(line)
	if err != nil {
		// Only non-JSON values could cause this; report it rather than drop the event silently.
		data, _ = json.Marshal(Event{"event": "error", "error": "dtls-bridge: cannot encode event " + kind + ": " + err.Error()})
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.out.Write(append(data, '\n'))
}

// millis turns a duration into milliseconds with 0.1 ms precision, for durationMs fields.
func millis(d time.Duration) float64 {
	return float64(d.Microseconds()/100) / 10
}
