// tls-impostor: a TLS server that presents a certificate chain with a private key that does NOT
// belong to it — the forged-certificate case `replaced-key` (a genuine certificate, the
// attacker's key; docs/architecture.md §6 PKI and forged certificates). OpenSSL refuses to load such a pair (key values mismatch), so
// node:tls and `openssl s_server` cannot play this attacker; Go's crypto/tls, given the pair by
// hand, signs CertificateVerify with whatever key it holds and lets the client decide.
//
// It speaks to the TypeScript MITM proxy through JSON lines on stdout (listening, client-hello,
// handshake, handshake-failed) and hands any plaintext it obtains to a loopback TCP address.
//
// In `--mode client` it is the same forgery on the other side of mutual TLS: it presents a
// device certificate it does not hold the key for (another device's, or a victim's it saw on
// the wire) and reports whether the server accepted the handshake.
package main

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

var out = json.NewEncoder(os.Stdout)
var outMu sync.Mutex

func emit(event string, fields map[string]interface{}) {
	fields["event"] = event
	fields["time"] = time.Now().UTC().Format(time.RFC3339Nano)
	outMu.Lock()
	defer outMu.Unlock()
	_ = out.Encode(fields)
}

func fail(format string, args ...interface{}) {
	emit("error", map[string]interface{}{"error": fmt.Sprintf(format, args...)})
	os.Exit(1)
}

func readChain(path string) [][]byte {
	data, err := os.ReadFile(path)
	if err != nil {
		fail("tls-impostor: cannot read the certificate chain %s: %v", path, err)
	}
	var chain [][]byte
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			chain = append(chain, block.Bytes)
		}
	}
	if len(chain) == 0 {
		fail("tls-impostor: %s holds no PEM CERTIFICATE", path)
	}
	return chain
}

func readKey(path string) crypto.Signer {
	data, err := os.ReadFile(path)
	if err != nil {
		fail("tls-impostor: cannot read the key %s: %v", path, err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		fail("tls-impostor: %s holds no PEM key", path)
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s
		}
	}
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return k
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k
	}
	fail("tls-impostor: %s is not a PKCS#8, SEC 1 or PKCS#1 private key", path)
	return nil
}

func main() {
	mode := flag.String("mode", "server", "server (present a certificate to clients) or client (present one to a server)")
	connect := flag.String("connect", "", "client mode: host:port of the TLS server")
	serverName := flag.String("server-name", "", "client mode: the name the server must prove")
	caPath := flag.String("ca", "", "client mode: PEM CA bundle that the server must chain to")
	listen := flag.String("listen", "127.0.0.1:0", "TLS listen address")
	certPath := flag.String("cert", "", "PEM certificate chain to present (leaf first)")
	keyPath := flag.String("key", "", "PEM private key to sign with (need not match the certificate)")
	plain := flag.String("plain", "", "loopback TCP address that receives the plaintext of intercepted sessions")
	keylog := flag.String("keylog", "", "append TLS secrets here (SSLKEYLOGFILE format), mode 0600")
	timeout := flag.Duration("handshake-timeout", 5*time.Second, "give up on a handshake after this long")
	flag.Parse()
	if *certPath == "" || *keyPath == "" {
		fail("tls-impostor: --cert and --key are required")
	}
	// Built by hand on purpose: tls.X509KeyPair would refuse the mismatched pair, as OpenSSL does.
	cert := tls.Certificate{Certificate: readChain(*certPath), PrivateKey: readKey(*keyPath)}
	if *mode == "client" {
		runClient(cert, *connect, *serverName, *caPath, *keylog, *timeout)
		return
	}
	if *mode != "server" {
		fail("tls-impostor: --mode must be server or client, got %q", *mode)
	}
	config := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		ClientAuth:   tls.RequestClientCert,
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			emit("client-hello", map[string]interface{}{"serverName": hello.ServerName, "cipherSuites": hello.CipherSuites, "versions": hello.SupportedVersions, "remote": hello.Conn.RemoteAddr().String()})
			return nil, nil
		},
	}
	if *keylog != "" {
		f, err := os.OpenFile(*keylog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			fail("tls-impostor: cannot open key log %s: %v", *keylog, err)
		}
		defer f.Close()
		config.KeyLogWriter = f
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fail("tls-impostor: cannot listen on %s: %v", *listen, err)
	}
	emit("listening", map[string]interface{}{"address": ln.Addr().String()})
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		_ = ln.Close()
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				emit("closed", map[string]interface{}{})
				return
			}
			continue
		}
		go serve(tls.Server(conn, config), *plain, *timeout)
	}
}

func serve(conn *tls.Conn, plain string, timeout time.Duration) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if err := conn.Handshake(); err != nil {
		emit("handshake-failed", map[string]interface{}{"remote": conn.RemoteAddr().String(), "error": err.Error()})
		return
	}
	_ = conn.SetDeadline(time.Time{})
	state := conn.ConnectionState()
	fields := map[string]interface{}{"remote": conn.RemoteAddr().String(), "version": versionName(state.Version), "cipher": tls.CipherSuiteName(state.CipherSuite)}
	if len(state.PeerCertificates) > 0 {
		fields["clientCertificateCn"] = state.PeerCertificates[0].Subject.CommonName
	}
	emit("handshake", fields)
	if plain == "" {
		return
	}
	backend, err := net.Dial("tcp", plain)
	if err != nil {
		emit("error", map[string]interface{}{"error": fmt.Sprintf("cannot reach the plaintext side %s: %v", plain, err)})
		return
	}
	defer backend.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(backend, conn); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, backend); done <- struct{}{} }()
	<-done
}

// versionName: tls.VersionName exists only from Go 1.21; Debian bookworm ships 1.19.
func versionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS10:
		return "TLSv1"
	}
	return fmt.Sprintf("0x%04x", v)
}

// runClient: one handshake as a TLS client presenting `cert`, then a clean close. The server's
// verdict on the forged client certificate (RFC 8446 §4.4.3: CertificateVerify signed with a key
// that is not the certificate's) is what the caller wants to see.
func runClient(cert tls.Certificate, address, serverName, caPath, keylog string, timeout time.Duration) {
	if address == "" || serverName == "" || caPath == "" {
		fail("tls-impostor: client mode needs --connect, --server-name and --ca")
	}
	// The client's secrets too: a TLS 1.3 server refuses the certificate in an encrypted alert,
	// readable on the wire only with them (RFC 8446 §5.2).
	var keyLogWriter io.Writer
	if keylog != "" {
		f, err := os.OpenFile(keylog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			fail("tls-impostor: cannot open key log %s: %v", keylog, err)
		}
		defer f.Close()
		keyLogWriter = f
	}
	pool := x509.NewCertPool()
	for _, der := range readChain(caPath) {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			fail("tls-impostor: %s: %v", caPath, err)
		}
		pool.AddCert(c)
	}
	dialer := &net.Dialer{Timeout: timeout}
	conn, err := tls.DialWithDialer(dialer, "tcp", address, &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ServerName:   serverName,
		MinVersion:   tls.VersionTLS12,
		KeyLogWriter: keyLogWriter,
	})
	if err != nil {
		emit("handshake-failed", map[string]interface{}{"remote": address, "error": err.Error()})
		return
	}
	defer conn.Close()
	// In TLS 1.3 the server judges the client's certificate after the client's Finished: a
	// refusal arrives as an alert on the first read.
	_ = conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	buf := make([]byte, 1)
	if _, err := conn.Read(buf); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		var ne net.Error
		if !(errors.As(err, &ne) && ne.Timeout()) {
			emit("handshake-failed", map[string]interface{}{"remote": address, "error": err.Error()})
			return
		}
	}
	state := conn.ConnectionState()
	emit("handshake", map[string]interface{}{"remote": address, "version": versionName(state.Version), "cipher": tls.CipherSuiteName(state.CipherSuite)})
}
