package bridge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/pion/dtls/v2"
)

// BenchOptions configures the pion-to-pion baseline of bench/dtls.ts: a pion server and a pion
// client in this one process over loopback UDP, with no plaintext relay and no TypeScript, so
// the figures are what pion itself costs on this machine.
type BenchOptions struct {
	ServerCert, ServerKey string // the server's identity
	ClientCert, ClientKey string // the client's identity (mutual authentication), optional
	CAFile                string // trust anchors of both sides
	ServerName            string
	Ciphers               string
	Handshakes            int // sequential full handshakes to time
	Datagrams             int // datagrams to send on one connection, each answered by the server
	Window                int // datagrams in flight before waiting for their answers
	PayloadBytes          int // size of each datagram (97: a reading datagram)
	AnswerBytes           int // size of each answer (26: an ack of one sequence)
}

// BenchResult is what RunBench measured.
type BenchResult struct {
	Handshakes        int     `json:"handshakes"`
	HandshakesPerSec  float64 `json:"handshakesPerSec"`
	Datagrams         int     `json:"datagrams"`
	DatagramsPerSec   float64 `json:"datagramsPerSec"`
	CipherSuite       string  `json:"cipherSuite"`
	MutualCertificate bool    `json:"mutualCertificate"`
}

// RunBench times sequential full handshakes, then windowed request/answer datagrams.
func RunBench(o BenchOptions) (BenchResult, error) {
	if o.Handshakes < 1 || o.Handshakes > 100000 || o.Datagrams < 1 || o.Datagrams > 10000000 || o.Window < 1 || o.Window > 1024 {
		return BenchResult{}, fmt.Errorf("dtls-bridge bench: --handshakes 1..100000, --datagrams 1..10000000 and --window 1..1024, got %d, %d, %d", o.Handshakes, o.Datagrams, o.Window)
	}
	if o.PayloadBytes < 1 || o.PayloadBytes > 1200 || o.AnswerBytes < 1 || o.AnswerBytes > 1200 {
		return BenchResult{}, fmt.Errorf("dtls-bridge bench: --payload and --answer must be 1..1200 bytes")
	}
	suites, err := parseCiphers(o.Ciphers)
	if err != nil {
		return BenchResult{}, err
	}
	serverCert, err := loadCertificate(o.ServerCert, o.ServerKey, false)
	if err != nil {
		return BenchResult{}, err
	}
	pool, err := loadPool(o.CAFile)
	if err != nil {
		return BenchResult{}, err
	}
	server := &dtls.Config{Certificates: []tls.Certificate{serverCert}, CipherSuites: suites, MTU: DefaultMTU, ClientCAs: pool}
	client := &dtls.Config{RootCAs: pool, ServerName: o.ServerName, CipherSuites: suites, MTU: DefaultMTU}
	mutual := o.ClientCert != ""
	if mutual {
		clientCert, err := loadCertificate(o.ClientCert, o.ClientKey, false)
		if err != nil {
			return BenchResult{}, err
		}
		client.Certificates = []tls.Certificate{clientCert}
		server.ClientAuth = dtls.RequireAndVerifyClientCert
	}
	listener, err := dtls.Listen("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, server)
	if err != nil {
		return BenchResult{}, fmt.Errorf("dtls-bridge bench: listen: %w", err)
	}
	defer listener.Close()
	go answerEveryDatagram(listener, o.AnswerBytes)
	addr := listener.Addr().(*net.UDPAddr)

	dial := func() (*dtls.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), DefaultHandshakeTimeout)
		defer cancel()
		return dtls.DialWithContext(ctx, "udp", addr, client)
	}
	res := BenchResult{Handshakes: o.Handshakes, Datagrams: o.Datagrams, MutualCertificate: mutual}
	start := time.Now()
	for i := 0; i < o.Handshakes; i++ {
		conn, err := dial()
		if err != nil {
			return res, fmt.Errorf("dtls-bridge bench: handshake %d: %w", i+1, err)
		}
		// One datagram and its answer: the server side has finished its handshake too.
		if err := roundTrip(conn, make([]byte, o.PayloadBytes), 1); err != nil {
			return res, err
		}
		if n, err := negotiatedOf(conn); i == 0 && err == nil {
			res.CipherSuite = CipherName(dtls.CipherSuiteID(n.CipherSuiteID))
		}
		conn.Close()
	}
	res.HandshakesPerSec = float64(o.Handshakes) / time.Since(start).Seconds()

	conn, err := dial()
	if err != nil {
		return res, fmt.Errorf("dtls-bridge bench: handshake for the datagram run: %w", err)
	}
	defer conn.Close()
	payload := make([]byte, o.PayloadBytes)
	start = time.Now()
	for sent := 0; sent < o.Datagrams; {
		n := o.Window
		if o.Datagrams-sent < n {
			n = o.Datagrams - sent
		}
		if err := roundTrip(conn, payload, n); err != nil {
			return res, fmt.Errorf("dtls-bridge bench: after %d datagrams: %w", sent, err)
		}
		sent += n
	}
	res.DatagramsPerSec = float64(o.Datagrams) / time.Since(start).Seconds()
	return res, nil
}

// roundTrip writes n datagrams and reads n answers (loopback loses nothing at these windows;
// a lost one shows as a read deadline error rather than a hang).
func roundTrip(conn *dtls.Conn, payload []byte, n int) error {
	for i := 0; i < n; i++ {
		if _, err := conn.Write(payload); err != nil {
			return err
		}
	}
	buf := make([]byte, 2048)
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if _, err := conn.Read(buf); err != nil {
			return fmt.Errorf("answer %d of %d: %w", i+1, n, err)
		}
	}
	return nil
}

// answerEveryDatagram accepts connections one after another and answers each datagram.
func answerEveryDatagram(listener net.Listener, answerBytes int) {
	answer := make([]byte, answerBytes)
	for {
		conn, err := listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // a failed handshake: keep serving
		}
		go func(c net.Conn) {
			defer c.Close()
			buf := make([]byte, 2048)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
				if _, err := c.Write(answer); err != nil {
					return
				}
			}
		}(conn)
	}
}
