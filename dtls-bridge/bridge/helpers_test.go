package bridge

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// testPKI is a throw-away PKI: a CA, a server certificate for cloud.testbed.local, a client
// certificate, and a second CA that issued none of them. Files live in t.TempDir().
type testPKI struct {
	caFile, otherCAFile           string
	serverCert, serverKey         string
	clientCert, clientKey         string
	expiredServerCert, expiredKey string
}

type issued struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	ca := issue(t, "DO NOT TRUST - TESTING ONLY CA", nil, func(c *x509.Certificate) {
		c.IsCA, c.BasicConstraintsValid, c.KeyUsage = true, true, x509.KeyUsageCertSign
	})
	other := issue(t, "DO NOT TRUST - OTHER CA", nil, func(c *x509.Certificate) {
		c.IsCA, c.BasicConstraintsValid, c.KeyUsage = true, true, x509.KeyUsageCertSign
	})
	server := issue(t, "cloud.testbed.local", &ca, func(c *x509.Certificate) {
		c.DNSNames = []string{"cloud.testbed.local"}
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	})
	expired := issue(t, "cloud.testbed.local", &ca, func(c *x509.Certificate) {
		c.DNSNames = []string{"cloud.testbed.local"}
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		c.NotBefore, c.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	})
	client := issue(t, "wearable-01", &ca, func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	})
	p := &testPKI{}
	p.caFile = writePEM(t, dir, "ca.pem", ca, false)
	p.otherCAFile = writePEM(t, dir, "other-ca.pem", other, false)
	p.serverCert, p.serverKey = writePEM(t, dir, "server.pem", server, false), writePEM(t, dir, "server.key", server, true)
	p.expiredServerCert, p.expiredKey = writePEM(t, dir, "expired.pem", expired, false), writePEM(t, dir, "expired.key", expired, true)
	p.clientCert, p.clientKey = writePEM(t, dir, "client.pem", client, false), writePEM(t, dir, "client.key", client, true)
	return p
}

func issue(t *testing.T, cn string, parent *issued, shape func(*x509.Certificate)) issued {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	template := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	shape(template)
	signer, signerKey := template, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, template, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return issued{cert: cert, key: key}
}

// writePEM writes the certificate, or with private set the PKCS#8 key (mode 0600).
func writePEM(t *testing.T, dir, name string, it issued, private bool) string {
	t.Helper()
	block := &pem.Block{Type: "CERTIFICATE", Bytes: it.cert.Raw}
	mode := os.FileMode(0o644)
	if private {
		der, err := x509.MarshalPKCS8PrivateKey(it.key)
		if err != nil {
			t.Fatal(err)
		}
		block, mode = &pem.Block{Type: "PRIVATE KEY", Bytes: der}, 0o600
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

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
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() { s.mu.Lock(); s.cond.Broadcast(); s.mu.Unlock() })
	defer timer.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		seen := 0
		for _, ev := range s.events {
			if ev["event"] == kind {
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

func serverCertOptions(p *testPKI) ServerOptions {
	return ServerOptions{Common: Common{CertFile: p.serverCert, KeyFile: p.serverKey, CAFile: p.caFile}}
}

func clientCertOptions(p *testPKI) ClientOptions {
	return ClientOptions{Common: Common{CAFile: p.caFile}, ServerName: "cloud.testbed.local"}
}
