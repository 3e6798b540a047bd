package bridge

import (
	"fmt"
	"strings"
	"testing"
)

// controlRole answers the control commands without any DTLS behind them.
type controlRole struct{ closed []uint32 }

func (r *controlRole) Start() error { return nil }
func (r *controlRole) Stats() Event { return Event{"mode": "test"} }
func (r *controlRole) ClosePeer(id uint32) error {
	r.closed = append(r.closed, id)
	return nil
}
func (r *controlRole) Close() {}

// runControl feeds input to ReadControl and returns its result and every event it emitted.
func runControl(t *testing.T, role Role, input string) (bool, []Event) {
	t.Helper()
	sink := newEventSink()
	shutdown := ReadControl(role, strings.NewReader(input), NewEmitter(sink))
	sink.mu.Lock()
	defer sink.mu.Unlock()
	return shutdown, append([]Event(nil), sink.events...)
}

func TestControlLineOverTheLimitIsReportedAndTheChannelCarriesOn(t *testing.T) {
	role := &controlRole{}
	oversized := `{"cmd":"close","peerId":7,"pad":"` + strings.Repeat("x", MaxControlLineBytes) + `"}`
	// A line of exactly the limit is still a command (padding with spaces keeps it valid JSON).
	atLimit := `{"cmd":"close","peerId":9}` + strings.Repeat(" ", MaxControlLineBytes-len(`{"cmd":"close","peerId":9}`))
	input := oversized + "\n" + `{"cmd":"stats"}` + "\n" + "{not json\n" + atLimit + "\n" + `{"cmd":"shutdown"}` + "\n" + `{"cmd":"close","peerId":11}` + "\n"
	shutdown, events := runControl(t, role, input)

	if !shutdown {
		t.Fatal("shutdown after the bad lines was not seen: the control channel stopped early")
	}
	kinds := make([]string, len(events))
	for i, ev := range events {
		kinds[i] = fmt.Sprint(ev["event"])
	}
	if got := strings.Join(kinds, ","); got != "error,stats,error" {
		t.Fatalf("events %s, want error,stats,error: %v", got, events)
	}
	tooLong := fmt.Sprint(events[0]["error"])
	wantLength := fmt.Sprintf("control line of %d bytes is over the 65536-byte (64 KiB) limit", len(oversized))
	if !strings.Contains(tooLong, wantLength) || events[0]["scope"] != "control" || events[0]["limit"] != float64(MaxControlLineBytes) {
		t.Fatalf("oversized line: %v; want an error naming %q", events[0], wantLength)
	}
	if notJSON := fmt.Sprint(events[2]["error"]); !strings.Contains(notJSON, `control line "{not json" is not JSON`) {
		t.Fatalf("malformed line: %v", events[2])
	}
	// The oversized close (peer 7) never ran; the one at the limit (9) did; nothing after shutdown.
	if fmt.Sprint(role.closed) != "[9]" {
		t.Fatalf("closed peers %v, want [9]", role.closed)
	}
}

func TestControlErrorQuotesOnlyAnExcerptOfAMalformedLine(t *testing.T) {
	shutdown, events := runControl(t, &controlRole{}, strings.Repeat("z", 5000)+"\n"+`{"cmd":"shutdown"}`)
	if !shutdown || len(events) != 1 {
		t.Fatalf("shutdown %v, events %v", shutdown, events)
	}
	if msg := fmt.Sprint(events[0]["error"]); len(msg) > 400 || !strings.Contains(msg, "(5000 bytes)") {
		t.Fatalf("error event quotes too much or no length (%d chars): %.200s", len(msg), msg)
	}
}

func TestControlEndOfInputWithoutNewlineStillRunsTheLastLine(t *testing.T) {
	shutdown, events := runControl(t, &controlRole{}, `{"cmd":"stats"}`)
	if shutdown || len(events) != 1 || events[0]["event"] != "stats" {
		t.Fatalf("shutdown %v, events %v", shutdown, events)
	}
}
