package bridge

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

const fleetPSK = "000102030405060708090a0b0c0d0e0f"

// startFleet runs a fleet-mode bridge against srv; its plaintext socket is on a free loopback port.
func startFleet(t *testing.T, srv *Server, maxSessions int) (*Fleet, *eventSink, *Emitter) {
	t.Helper()
	sink := newEventSink()
	events := NewEmitter(sink)
	opts := FleetOptions{ClientOptions: ClientOptions{Common: Common{PSKHex: fleetPSK, Ciphers: "PSK-AES128-GCM-SHA256", HandshakeTimeout: 5 * time.Second}, Connect: srv.Addr().String(), Plain: "127.0.0.1:0"}, MaxSessions: maxSessions}
	f, err := NewFleet(opts, events, NewLogger(testWriter{t}, LogError))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f, sink, events
}

func command(t *testing.T, role Role, events *Emitter, line string) {
	t.Helper()
	if HandleCommand(role, []byte(line), events) {
		t.Fatalf("%s asked the bridge to shut down", line)
	}
}

// One process, many sessions: each datagram reaches the server on its own session and each
// answer comes back framed with the id the TypeScript role gave that session.
func TestFleetRelaysEverySessionByItsId(t *testing.T) {
	srv, srvSink, srvTS := startServer(t, ServerOptions{Common: Common{PSKHex: fleetPSK, Ciphers: "PSK-AES128-GCM-SHA256"}})
	f, sink, events := startFleet(t, srv, 0)
	ts := tsSocket(t)
	const n = 40
	for i := 1; i <= n; i++ {
		command(t, f, events, fmt.Sprintf(`{"cmd":"open","peerId":%d,"identity":"wearable-%04d"}`, i, i))
	}
	sink.wait(t, "handshake", n, 60*time.Second)
	srvSink.wait(t, "handshake", n, 10*time.Second)
	for i := 1; i <= n; i++ {
		if _, err := ts.WriteToUDP(EncodeFrame(uint32(i), []byte(fmt.Sprintf("reading of %d", i))), f.PlainAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
	}
	// The server sees n sessions; it echoes each payload on the session it came from.
	for i := 0; i < n; i++ {
		peer, payload, err := DecodeFrame(readDatagram(t, srvTS))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srvTS.WriteToUDP(EncodeFrame(peer, append([]byte("ack "), payload...)), srv.PlainAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		id, payload, err := DecodeFrame(readDatagram(t, ts))
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("ack reading of %d", id); string(payload) != want {
			t.Fatalf("session %d got %q back, want %q: answers crossed sessions", id, payload, want)
		}
	}
	if stats := f.Stats(); stats["established"] != n || stats["handshakesOk"] != uint64(n) {
		t.Fatalf("stats after %d sessions: %v", n, stats)
	}
}

// Hostile control lines and plaintext: each gets an error event or a counted drop, the bridge
// keeps serving, and the bound on sessions holds.
func TestFleetRefusesHostileInputAndKeepsServing(t *testing.T) {
	srv, _, _ := startServer(t, ServerOptions{Common: Common{PSKHex: fleetPSK, Ciphers: "PSK-AES128-GCM-SHA256"}})
	f, sink, events := startFleet(t, srv, 3)
	ts := tsSocket(t)
	hostile := []struct{ line, want string }{
		{`{"cmd":"open","peerId":0,"identity":"wearable-0001"}`, "needs a session id"},
		{`{"cmd":"open","peerId":1}`, "needs its PSK identity"},
		{`{"cmd":"open","peerId":1,"identity":"` + strings.Repeat("x", 200) + `"}`, "over 128"},
		{`{"cmd":"open","peerId":1,"identity":"a","certFile":"/nonexistent.crt","keyFile":"/nonexistent.key"}`, "not both"},
		{`{"cmd":"open","peerId":-1,"identity":"a"}`, "not JSON"},
		{`{"cmd":"open","peerId":1,"identity":"a"`, "not JSON"},
		{`{"cmd":"close","peerId":99}`, "no open session 99"},
		{`{"cmd":"launch"}`, "unknown control command"},
	}
	for i, h := range hostile {
		command(t, f, events, h.line)
		ev := sink.wait(t, "error", i+1, 2*time.Second)
		if msg, _ := ev["error"].(string); !strings.Contains(msg, h.want) {
			t.Fatalf("%s: error %q does not say %q", h.line, msg, h.want)
		}
	}
	for i := 1; i <= 3; i++ {
		command(t, f, events, fmt.Sprintf(`{"cmd":"open","peerId":%d,"identity":"wearable-%04d"}`, i, i))
	}
	command(t, f, events, `{"cmd":"open","peerId":2,"identity":"wearable-0002"}`)
	if msg, _ := sink.wait(t, "error", len(hostile)+1, 2*time.Second)["error"].(string); !strings.Contains(msg, "already open") && !strings.Contains(msg, "--max-sessions") {
		t.Fatalf("a second open of session 2 was not refused: %q", msg)
	}
	command(t, f, events, `{"cmd":"open","peerId":4,"identity":"wearable-0004"}`)
	if msg, _ := sink.wait(t, "error", len(hostile)+2, 2*time.Second)["error"].(string); !strings.Contains(msg, "--max-sessions") {
		t.Fatalf("a fourth session past --max-sessions 3 was not refused: %q", msg)
	}
	sink.wait(t, "handshake", 3, 30*time.Second)
	// Plaintext too short for the header, for a session that does not exist, and an empty one.
	bad := [][]byte{{0x01, 0x02}, EncodeFrame(77, []byte("nobody")), {}}
	for _, b := range bad {
		if _, err := ts.WriteToUDP(b, f.PlainAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.Stats()["plainDropped"] != uint64(len(bad)) {
		if time.Now().After(deadline) {
			t.Fatalf("dropped plaintext datagrams: %v, want %d", f.Stats()["plainDropped"], len(bad))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Closing a session frees its id and a place under the bound; the bridge still serves.
	if err := f.ClosePeer(2); err != nil {
		t.Fatal(err)
	}
	sink.waitForPeer(t, "closed", 2, 5*time.Second)
	command(t, f, events, `{"cmd":"open","peerId":2,"identity":"wearable-0002"}`)
	ev := sink.wait(t, "handshake", 4, 30*time.Second)
	if ev["peerId"] != float64(2) {
		t.Fatalf("the reopened session's handshake event names peer %v", ev["peerId"])
	}
	frame := make([]byte, PeerHeaderLen)
	binary.BigEndian.PutUint32(frame, 2)
	if _, err := ts.WriteToUDP(append(frame, []byte("after the hostile input")...), f.PlainAddr().(*net.UDPAddr)); err != nil {
		t.Fatal(err)
	}
	if stats := f.Stats(); stats["sessions"] != 3 {
		t.Fatalf("sessions open: %v, want 3", stats["sessions"])
	}
}

// A bound outside 1..MaxFleetSessions and a fleet-wide PSK identity are refused at start.
func TestFleetOptionsAreChecked(t *testing.T) {
	base := ClientOptions{Common: Common{PSKHex: fleetPSK}, Connect: "127.0.0.1:5684", Plain: "127.0.0.1:0"}
	for _, c := range []struct {
		opts FleetOptions
		want string
	}{
		{FleetOptions{ClientOptions: base, MaxSessions: MaxFleetSessions + 1}, "--max-sessions"},
		{FleetOptions{ClientOptions: base, MaxSessions: -1}, "--max-sessions"},
		{FleetOptions{ClientOptions: ClientOptions{Common: Common{PSKHex: fleetPSK, PSKIdentity: "one"}, Connect: "127.0.0.1:5684", Plain: "127.0.0.1:0"}}, "open command"},
		{FleetOptions{ClientOptions: ClientOptions{Common: Common{PSKHex: fleetPSK}, Connect: "127.0.0.1:5684", Plain: "10.0.0.1:9"}}, "loopback"},
		{FleetOptions{ClientOptions: ClientOptions{Common: Common{PSKHex: fleetPSK}, Connect: "127.0.0.1:5684", Plain: "127.0.0.1:0", Local: "127.0.0.1:0"}}, "--local"},
	} {
		if _, err := NewFleet(c.opts, NewEmitter(newEventSink()), NewLogger(testWriter{t}, LogError)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%+v: got %v, want an error saying %q", c.opts, err, c.want)
		}
	}
}
