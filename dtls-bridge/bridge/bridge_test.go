package bridge

import (
	"bytes"
	"crypto/rand"
	"net"
	"strings"
	"testing"
	"time"

	"dtlsbridge/testpki"
	"github.com/pion/dtls/v2/pkg/protocol"
	"github.com/pion/dtls/v2/pkg/protocol/handshake"
	"github.com/pion/dtls/v2/pkg/protocol/recordlayer"
)

const wait = 10 * time.Second

func TestCertificateHandshakeVerifiesHostnameAndCarriesDatagramsBothWays(t *testing.T) {
	pki := testpki.New(t)
	srv, srvEvents, tsServer := startServer(t, serverCertOptions(pki))
	cl, clEvents := startClient(t, srv, clientCertOptions(pki))

	hs := clEvents.wait(t, "handshake", 1, wait)
	if hs["version"] != "DTLS 1.2" || hs["cipherSuite"] != "ECDHE-ECDSA-AES128-GCM-SHA256" || hs["resumed"] != false {
		t.Fatalf("client handshake event: %v", hs)
	}
	cert := hs["peerCertificate"].(map[string]interface{})
	if cert["subjectCN"] != "cloud.testbed.local" || len(cert["sha256"].(string)) != 64 {
		t.Fatalf("server certificate summary: %v", cert)
	}
	srvHs := srvEvents.wait(t, "handshake", 1, wait)
	peerID := uint32(srvHs["peerId"].(float64))

	// TS client role -> bridge client -> DTLS -> bridge server -> TS server role, framed.
	tsClient := tsSocket(t)
	if _, err := tsClient.WriteToUDP([]byte("ping"), cl.PlainAddr().(*net.UDPAddr)); err != nil {
		t.Fatal(err)
	}
	id, payload, err := DecodeFrame(readDatagram(t, tsServer))
	if err != nil || id != peerID || string(payload) != "ping" {
		t.Fatalf("server side got peer %d payload %q (%v), want peer %d \"ping\"", id, payload, err, peerID)
	}
	// And back, addressed to that peer.
	if _, err := tsServer.WriteToUDP(EncodeFrame(peerID, []byte("pong")), srv.PlainAddr().(*net.UDPAddr)); err != nil {
		t.Fatal(err)
	}
	if got := readDatagram(t, tsClient); string(got) != "pong" {
		t.Fatalf("client side got %q, want pong", got)
	}
	// A frame for a peer that does not exist is dropped, not sent to someone else.
	if _, err := tsServer.WriteToUDP(EncodeFrame(peerID+100, []byte("lost")), srv.PlainAddr().(*net.UDPAddr)); err != nil {
		t.Fatal(err)
	}
	srvEvents.wait(t, "handshake", 1, wait)
	deadline := time.Now().Add(wait)
	for srv.Stats()["plainDropped"].(uint64) != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if srv.Stats()["plainDropped"].(uint64) != 1 {
		t.Fatalf("frame for unknown peer not counted as dropped: %v", srv.Stats())
	}
}

func TestClientRejectsWrongHostname(t *testing.T) {
	pki := testpki.New(t)
	srv, srvEvents, _ := startServer(t, serverCertOptions(pki))
	opts := clientCertOptions(pki)
	opts.ServerName = "gateway.testbed.local"
	_, clEvents := startClient(t, srv, opts)

	failed := clEvents.wait(t, "handshake-failed", 1, wait)
	if failed["reason"] != ReasonHostnameMismatch {
		t.Fatalf("client failure: %v", failed)
	}
	// pion answers any certificate failure with a bad_certificate alert (RFC 5246 §7.2.2).
	if srvFailed := srvEvents.wait(t, "handshake-failed", 1, wait); srvFailed["reason"] != ReasonBadCertificate {
		t.Fatalf("server failure: %v", srvFailed)
	}
	if clEvents.count("handshake") != 0 {
		t.Fatal("client reported a handshake despite the wrong hostname")
	}
}

func TestClientRejectsUnknownCAAndExpiredCertificate(t *testing.T) {
	pki := testpki.New(t)
	srv, _, _ := startServer(t, serverCertOptions(pki))
	opts := clientCertOptions(pki)
	opts.CAFile = pki.OtherCAFile
	_, clEvents := startClient(t, srv, opts)
	if failed := clEvents.wait(t, "handshake-failed", 1, wait); failed["reason"] != ReasonUnknownCA {
		t.Fatalf("unknown CA: %v", failed)
	}

	expired, _, _ := startServer(t, ServerOptions{Common: Common{CertFile: pki.ExpiredServerCert, KeyFile: pki.ExpiredKey}})
	_, expEvents := startClient(t, expired, clientCertOptions(pki))
	if failed := expEvents.wait(t, "handshake-failed", 1, wait); failed["reason"] != ReasonExpired {
		t.Fatalf("expired certificate: %v", failed)
	}
}

// The replaced-key attack: the genuine server certificate served with another key. Go's
// X509KeyPair refuses to load it; --unchecked-key-pair loads it, and a verifying client then
// finds the ServerKeyExchange signature wrong for the certified key.
func TestReplacedKeyNeedsUncheckedKeyPairAndIsRefused(t *testing.T) {
	pki := testpki.New(t)
	replaced := serverCertOptions(pki)
	replaced.KeyFile = pki.ExpiredKey // a valid P-256 key, not the certified one
	if _, _, err := replaced.baseConfig(); err == nil || !strings.Contains(err.Error(), "cannot load --cert") {
		t.Fatalf("a mismatched key loaded without --unchecked-key-pair: %v", err)
	}
	replaced.UncheckedKeyPair = true
	srv, _, _ := startServer(t, replaced)
	_, clEvents := startClient(t, srv, clientCertOptions(pki))
	if failed := clEvents.wait(t, "handshake-failed", 1, wait); failed["reason"] != ReasonBadSignature {
		t.Fatalf("replaced key: %v", failed)
	}
	insecure := clientCertOptions(pki)
	insecure.InsecureSkipVerify = true
	_, insecureEvents := startClient(t, srv, insecure)
	// pion checks the ServerKeyExchange signature even when it skips chain verification.
	if failed := insecureEvents.wait(t, "handshake-failed", 1, wait); failed["reason"] != ReasonBadSignature {
		t.Fatalf("replaced key, insecure-skip-verify client: %v", failed)
	}
}

func TestBenchMeasuresHandshakesAndDatagrams(t *testing.T) {
	pki := testpki.New(t)
	res, err := RunBench(BenchOptions{ServerCert: pki.ServerCert, ServerKey: pki.ServerKey, ClientCert: pki.ClientCert, ClientKey: pki.ClientKey, CAFile: pki.CAFile,
		ServerName: "cloud.testbed.local", Handshakes: 3, Datagrams: 120, Window: 50, PayloadBytes: 97, AnswerBytes: 26})
	if err != nil {
		t.Fatal(err)
	}
	if res.HandshakesPerSec <= 0 || res.DatagramsPerSec <= 0 || !res.MutualCertificate || res.CipherSuite == "" {
		t.Fatalf("bench result %+v", res)
	}
	wrongName := BenchOptions{ServerCert: pki.ServerCert, ServerKey: pki.ServerKey, CAFile: pki.CAFile, ServerName: "other.example", Handshakes: 1, Datagrams: 1, Window: 1, PayloadBytes: 97, AnswerBytes: 26}
	if _, err := RunBench(wrongName); err == nil || !strings.Contains(err.Error(), "handshake 1") {
		t.Fatalf("a bench against the wrong name did not fail its first handshake: %v", err)
	}
}

func TestServerRequiringClientCertificate(t *testing.T) {
	pki := testpki.New(t)
	opts := serverCertOptions(pki)
	opts.ClientAuth = "require"
	srv, srvEvents, _ := startServer(t, opts)

	_, anonymous := startClient(t, srv, clientCertOptions(pki))
	anonymous.wait(t, "handshake-failed", 1, wait)
	if failed := srvEvents.wait(t, "handshake-failed", 1, wait); failed["reason"] != ReasonNoCertificate {
		t.Fatalf("server without client certificate: %v", failed)
	}

	withCert := clientCertOptions(pki)
	withCert.CertFile, withCert.KeyFile = pki.ClientCert, pki.ClientKey
	_, clEvents := startClient(t, srv, withCert)
	clEvents.wait(t, "handshake", 1, wait)
	hs := srvEvents.wait(t, "handshake", 1, wait)
	if cert := hs["peerCertificate"].(map[string]interface{}); cert["subjectCN"] != "wearable-01" {
		t.Fatalf("server saw client certificate %v", cert)
	}
}

func TestPSKHandshakeAndMismatch(t *testing.T) {
	psk := Common{PSKHex: "000102030405060708090a0b0c0d0e0f", Ciphers: "PSK-AES128-GCM-SHA256", HandshakeTimeout: 2 * time.Second}
	serverOpts := ServerOptions{Common: psk}
	serverOpts.PSKIdentity = "cloud"
	srv, srvEvents, _ := startServer(t, serverOpts)

	clientOpts := ClientOptions{Common: psk}
	clientOpts.PSKIdentity = "wearable-01"
	_, clEvents := startClient(t, srv, clientOpts)
	hs := clEvents.wait(t, "handshake", 1, wait)
	if hs["cipherSuite"] != "PSK-AES128-GCM-SHA256" || hs["pskIdentity"] != "cloud" {
		t.Fatalf("client PSK handshake: %v", hs)
	}
	if srvHs := srvEvents.wait(t, "handshake", 1, wait); srvHs["pskIdentity"] != "wearable-01" {
		t.Fatalf("server PSK handshake: %v", srvHs)
	}

	wrong := clientOpts
	wrong.PSKHex = "ffffffffffffffffffffffffffffffff"
	_, wrongEvents := startClient(t, srv, wrong)
	wrongEvents.wait(t, "handshake-failed", 1, wait)
	if failed := srvEvents.wait(t, "handshake-failed", 1, wait); failed["reason"] != ReasonPSKMismatch {
		t.Fatalf("server with mismatched PSK: %v", failed)
	}
}

func TestSessionResumption(t *testing.T) {
	pki := testpki.New(t)
	serverOpts := serverCertOptions(pki)
	serverOpts.SessionStore = true
	srv, srvEvents, _ := startServer(t, serverOpts)
	clientOpts := clientCertOptions(pki)
	clientOpts.SessionStore = true
	cl, clEvents := startClient(t, srv, clientOpts)

	first := clEvents.wait(t, "handshake", 1, wait)
	if first["resumed"] != false {
		t.Fatalf("first handshake claims resumption: %v", first)
	}
	if !cl.Reconnect() {
		t.Fatal("reconnect failed")
	}
	second := clEvents.wait(t, "handshake", 2, wait)
	if second["resumed"] != true || second["sessionId"] != first["sessionId"] {
		t.Fatalf("second handshake not resumed: first %v second %v", first, second)
	}
	if srvFirst := srvEvents.waitForPeer(t, "handshake", 1, wait); srvFirst["resumed"] != false {
		t.Fatalf("server resumed the first handshake: %v", srvFirst)
	}
	if srvSecond := srvEvents.waitForPeer(t, "handshake", 2, wait); srvSecond["resumed"] != true {
		t.Fatalf("server did not resume: %v", srvSecond)
	}
	t.Logf("full handshake %.1f ms, resumed %.1f ms", first["durationMs"], second["durationMs"])
}

// clientHelloRecord is a syntactically valid DTLS 1.2 ClientHello record.
func clientHelloRecord(t *testing.T) []byte {
	t.Helper()
	hello := &handshake.MessageClientHello{
		Version:            protocol.Version1_2,
		CipherSuiteIDs:     []uint16{0xc02b},
		CompressionMethods: []*protocol.CompressionMethod{{ID: 0}},
	}
	if err := hello.Random.Populate(); err != nil {
		t.Fatal(err)
	}
	raw, err := (&recordlayer.RecordLayer{
		Header:  recordlayer.Header{Version: protocol.Version1_2},
		Content: &handshake.Handshake{Message: hello},
	}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// epochZeroApplicationData crashes an unguarded pion 2.2.6 (see guard.go).
func epochZeroApplicationData() []byte {
	return []byte{23, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 4, 'b', 'o', 'o', 'm'}
}

func TestHostileDatagramsDoNotStopOtherClients(t *testing.T) {
	pki := testpki.New(t)
	srv, srvEvents, _ := startServer(t, serverCertOptions(pki))
	target := srv.Addr().(*net.UDPAddr)
	hello := clientHelloRecord(t)

	// Garbage, a truncated record, and a handshake record followed by records that pion
	// 2.2.6 would panic on, each from its own socket.
	garbage := make([]byte, 300)
	_, _ = rand.Read(garbage)
	for _, datagrams := range [][][]byte{
		{garbage},
		{hello[:len(hello)-7]},
		{hello, epochZeroApplicationData(), append(append([]byte{}, hello...), epochZeroApplicationData()...)},
		{hello, {21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 10, 0, 1, 2}}, // epoch-0 alert of wrong length
	} {
		attacker, err := net.DialUDP("udp", nil, target)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range datagrams {
			if _, err := attacker.Write(d); err != nil {
				t.Fatal(err)
			}
		}
		defer attacker.Close()
	}
	// A flood of 200 ClientHellos from one socket.
	flooder, err := net.DialUDP("udp", nil, target)
	if err != nil {
		t.Fatal(err)
	}
	defer flooder.Close()
	for i := 0; i < 200; i++ {
		if _, err := flooder.Write(clientHelloRecord(t)); err != nil {
			t.Fatal(err)
		}
	}

	_, clEvents := startClient(t, srv, clientCertOptions(pki))
	hs := clEvents.wait(t, "handshake", 1, wait)
	if !bytes.HasPrefix([]byte(hs["remote"].(string)), []byte("127.0.0.1:")) {
		t.Fatalf("legit client handshake: %v", hs)
	}
	srvEvents.wait(t, "handshake", 1, wait)
	if dropped := srv.Stats()["recordsDropped"].(uint64); dropped == 0 {
		t.Fatal("the guard dropped nothing: the hostile records reached pion")
	}
}

func TestGuardKeepsOnlyAcceptableRecords(t *testing.T) {
	hello := clientHelloRecord(t)
	kept, ok := filterDatagram(append(append([]byte{}, hello...), epochZeroApplicationData()...))
	if !ok || !bytes.Equal(kept, hello) {
		t.Fatalf("guard kept %x, want only the ClientHello", kept)
	}
	if _, ok := filterDatagram(epochZeroApplicationData()); ok {
		t.Fatal("guard let epoch-0 application data through")
	}
	if _, ok := filterDatagram(hello[:len(hello)-1]); ok {
		t.Fatal("guard let a truncated record through")
	}
}

func TestFraming(t *testing.T) {
	frame := EncodeFrame(0x01020304, []byte("hi"))
	if !bytes.Equal(frame, []byte{1, 2, 3, 4, 'h', 'i'}) {
		t.Fatalf("frame %x", frame)
	}
	if _, _, err := DecodeFrame([]byte{0, 0, 1}); err == nil {
		t.Fatal("3-byte frame accepted")
	}
}
