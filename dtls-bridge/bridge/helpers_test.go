package bridge

import (
	"bytes"
	"encoding/json"
	"net"
	"sync"
	"testing"
	"time"

	"dtlsbridge/testpki"
)

// eventSink collects emitted JSON lines (each Emit is one Write of one line).
type eventSink struct {
	mu     sync.Mutex
	events []Event
	cond   *sync.Cond
}

func newEventSink() *eventSink {
	s := &eventSink{}
	s.cond = sync.NewCond(&s.mu)
	return s
}

func (s *eventSink) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimSpace(p), []byte("\n")) {
		var ev Event
		if err := json.Unmarshal(line, &ev); err != nil {
			return 0, err
		}
		s.mu.Lock()
		s.events = append(s.events, ev)
		s.cond.Broadcast()
		s.mu.Unlock()
	}
	return len(p), nil
}

// wait returns the n-th (1-based) event of the kind, failing after timeout.
func (s *eventSink) wait(t *testing.T, kind string, n int, timeout time.Duration) Event {
	t.Helper()
	return s.waitWhere(t, kind, n, timeout, func(Event) bool { return true })
}

// waitForPeer returns the event of the kind about one peer id. Peers handshake in
// goroutines, so their events need not come in id order.
func (s *eventSink) waitForPeer(t *testing.T, kind string, peerID float64, timeout time.Duration) Event {
	t.Helper()
	return s.waitWhere(t, kind, 1, timeout, func(ev Event) bool { return ev["peerId"] == peerID })
}

func (s *eventSink) waitWhere(t *testing.T, kind string, n int, timeout time.Duration, match func(Event) bool) Event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() { s.mu.Lock(); s.cond.Broadcast(); s.mu.Unlock() })
	defer timer.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		seen := 0
		for _, ev := range s.events {
			if ev["event"] == kind && match(ev) {
				seen++
				if seen == n {
					return ev
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event #%d within %s; events: %v", kind, n, timeout, s.events)
		}
		s.cond.Wait()
	}
}

func (s *eventSink) count(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ev := range s.events {
		if ev["event"] == kind {
			n++
		}
	}
	return n
}

// testLogger sends bridge logs to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimSpace(p)))
	return len(p), nil
}

// tsSocket plays the TypeScript role's plaintext socket.
func tsSocket(t *testing.T) *net.UDPConn {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func readDatagram(t *testing.T, conn *net.UDPConn) []byte {
	t.Helper()
	buf := make([]byte, maxDatagram)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := conn.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("no plaintext datagram: %v", err)
	}
	return buf[:n]
}

// startServer runs a server whose plaintext goes to a fresh TS socket.
func startServer(t *testing.T, opts ServerOptions) (*Server, *eventSink, *net.UDPConn) {
	t.Helper()
	ts := tsSocket(t)
	opts.Listen, opts.Plain = "127.0.0.1:0", ts.LocalAddr().String()
	sink := newEventSink()
	srv, err := NewServer(opts, NewEmitter(sink), NewLogger(testWriter{t}, LogWarn))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv, sink, ts
}

// startClient runs a client against srv; its plaintext socket is on a free loopback port.
func startClient(t *testing.T, srv *Server, opts ClientOptions) (*Client, *eventSink) {
	t.Helper()
	opts.Connect, opts.Plain = srv.Addr().String(), "127.0.0.1:0"
	sink := newEventSink()
	cl, err := NewClient(opts, NewEmitter(sink), NewLogger(testWriter{t}, LogWarn))
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl, sink
}

func serverCertOptions(p *testpki.PKI) ServerOptions {
	return ServerOptions{Common: Common{CertFile: p.ServerCert, KeyFile: p.ServerKey, CAFile: p.CAFile}}
}

func clientCertOptions(p *testpki.PKI) ClientOptions {
	return ClientOptions{Common: Common{CAFile: p.CAFile}, ServerName: "cloud.testbed.local"}
}
