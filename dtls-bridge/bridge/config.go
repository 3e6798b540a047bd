package bridge

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/pion/dtls/v2"
)

// DefaultMTU keeps every handshake flight of the testbed's certificates in one datagram.
// pion's client hangs on session resumption when a server flight spans several datagrams, and
// loopback carries 64 KiB datagrams, so 1400 (above pion's 1200 default) costs nothing here.
const DefaultMTU = 1400

// DefaultHandshakeTimeout bounds every handshake (pion's own default is 30 s).
const DefaultHandshakeTimeout = 5 * time.Second

// Common holds the options both modes share.
type Common struct {
	CertFile         string        // PEM certificate chain (leaf first)
	KeyFile          string        // PEM private key: PKCS#8, PKCS#1 RSA or SEC 1 EC
	CAFile           string        // PEM CA certificates: the client's trust anchors, or the server's client CAs
	PSKHex           string        // pre-shared key in hex; enables the PSK suites
	PSKIdentity      string        // server: identity hint it sends; client: identity it sends
	Ciphers          string        // comma-separated OpenSSL-style names, see CipherNames
	EMS              string        // extended master secret: require | request | disable
	SessionStore     bool          // keep sessions for RFC 5246 session-ID resumption
	HandshakeTimeout time.Duration // bound on one handshake
	MTU              int           // pion's MTU: the largest handshake datagram it writes
	KeyLogFile       string        // NSS key log (CLIENT_RANDOM lines) for Wireshark, mode 0600
	// UncheckedKeyPair loads --cert and --key without checking that the key is the certified
	// one: the forged-certificate catalogue's replaced-key attack (a genuine certificate served
	// with the attacker's key). Only a MITM wants this.
	UncheckedKeyPair bool
}

// cipherSuites maps the names the bridge accepts (OpenSSL spelling) to pion's suites.
var cipherSuites = map[string]dtls.CipherSuiteID{
	"ECDHE-ECDSA-AES128-GCM-SHA256": dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   dtls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   dtls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-AES256-SHA":        dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          dtls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"ECDHE-ECDSA-AES128-CCM":        dtls.TLS_ECDHE_ECDSA_WITH_AES_128_CCM,
	"ECDHE-ECDSA-AES128-CCM8":       dtls.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
	"PSK-AES128-GCM-SHA256":         dtls.TLS_PSK_WITH_AES_128_GCM_SHA256,
	"PSK-AES128-CCM":                dtls.TLS_PSK_WITH_AES_128_CCM,
	"PSK-AES128-CCM8":               dtls.TLS_PSK_WITH_AES_128_CCM_8,
	"PSK-AES256-CCM8":               dtls.TLS_PSK_WITH_AES_256_CCM_8,
	"PSK-AES128-CBC-SHA256":         dtls.TLS_PSK_WITH_AES_128_CBC_SHA256,
}

// CipherNames lists the accepted --ciphers names, sorted.
func CipherNames() []string {
	names := make([]string, 0, len(cipherSuites))
	for name := range cipherSuites {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// CipherName gives the bridge's name for a suite id, falling back to pion's name.
func CipherName(id dtls.CipherSuiteID) string {
	for name, known := range cipherSuites {
		if known == id {
			return name
		}
	}
	return dtls.CipherSuiteName(id)
}

func parseCiphers(list string) ([]dtls.CipherSuiteID, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil // pion's defaults
	}
	var ids []dtls.CipherSuiteID
	for _, name := range strings.Split(list, ",") {
		id, ok := cipherSuites[strings.TrimSpace(name)]
		if !ok {
			return nil, fmt.Errorf("dtls-bridge: unknown cipher %q in --ciphers; use one of %s", name, strings.Join(CipherNames(), ", "))
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// parseEMS reads --extended-master-secret (RFC 7627).
func parseEMS(value string) (dtls.ExtendedMasterSecretType, error) {
	switch value {
	case "", "request":
		return dtls.RequestExtendedMasterSecret, nil
	case "require":
		return dtls.RequireExtendedMasterSecret, nil
	case "disable":
		return dtls.DisableExtendedMasterSecret, nil
	}
	return 0, fmt.Errorf("dtls-bridge: --extended-master-secret must be require, request or disable, got %q", value)
}

func loadCertificate(certFile, keyFile string, unchecked bool) (tls.Certificate, error) {
	if (certFile == "") != (keyFile == "") {
		return tls.Certificate{}, fmt.Errorf("dtls-bridge: --cert and --key go together; give both or neither")
	}
	if unchecked {
		return loadUncheckedKeyPair(certFile, keyFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("dtls-bridge: cannot load --cert %s / --key %s: %w (PEM certificate chain and PKCS#8, PKCS#1 or SEC 1 key expected)", certFile, keyFile, err)
	}
	return cert, nil
}

// loadUncheckedKeyPair builds the tls.Certificate by hand: crypto/tls.X509KeyPair refuses a key
// that does not match the leaf, which is exactly what the replaced-key attack presents. pion then
// signs its ServerKeyExchange with this key, and a client that checks the signature against the
// certificate's public key (RFC 5246 §7.4.3) must refuse it.
func loadUncheckedKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("dtls-bridge: cannot read --cert %s: %w", certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("dtls-bridge: cannot read --key %s: %w", keyFile, err)
	}
	var out tls.Certificate
	for block, rest := pem.Decode(certPEM); block != nil; block, rest = pem.Decode(rest) {
		if block.Type == "CERTIFICATE" {
			out.Certificate = append(out.Certificate, block.Bytes)
		}
	}
	if len(out.Certificate) == 0 {
		return tls.Certificate{}, fmt.Errorf("dtls-bridge: --cert %s holds no PEM certificate", certFile)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return tls.Certificate{}, fmt.Errorf("dtls-bridge: --key %s holds no PEM block", keyFile)
	}
	if out.PrivateKey, err = parsePrivateKey(block.Bytes); err != nil {
		return tls.Certificate{}, fmt.Errorf("dtls-bridge: --key %s: %w (PKCS#8, PKCS#1 RSA or SEC 1 EC expected)", keyFile, err)
	}
	return out, nil
}

func parsePrivateKey(der []byte) (crypto.PrivateKey, error) {
	if key, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return key, nil
	}
	if key, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return key, nil
	}
	return x509.ParseECPrivateKey(der)
}

func loadPool(caFile string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("dtls-bridge: cannot read --ca %s: %w", caFile, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("dtls-bridge: --ca %s holds no PEM certificate", caFile)
	}
	return pool, nil
}

// baseConfig builds the parts of the pion config both modes share.
func (c *Common) baseConfig() (*dtls.Config, *SessionStore, error) {
	cfg := &dtls.Config{MTU: c.MTU}
	if cfg.MTU == 0 {
		cfg.MTU = DefaultMTU
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	var err error
	if cfg.CipherSuites, err = parseCiphers(c.Ciphers); err != nil {
		return nil, nil, err
	}
	if cfg.ExtendedMasterSecret, err = parseEMS(c.EMS); err != nil {
		return nil, nil, err
	}
	if c.CertFile != "" || c.KeyFile != "" {
		cert, err := loadCertificate(c.CertFile, c.KeyFile, c.UncheckedKeyPair)
		if err != nil {
			return nil, nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if c.PSKHex != "" {
		psk, err := hex.DecodeString(c.PSKHex)
		if err != nil || len(psk) == 0 {
			return nil, nil, fmt.Errorf("dtls-bridge: --psk must be the key in hex (e.g. 000102...), got %q", c.PSKHex)
		}
		cfg.PSK = func([]byte) ([]byte, error) { return psk, nil }
		cfg.PSKIdentityHint = []byte(c.PSKIdentity)
	} else if c.PSKIdentity != "" {
		return nil, nil, fmt.Errorf("dtls-bridge: a PSK identity needs --psk")
	}
	if c.KeyLogFile != "" {
		f, err := os.OpenFile(c.KeyLogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("dtls-bridge: cannot open --keylog %s: %w", c.KeyLogFile, err)
		}
		cfg.KeyLogWriter = f
	}
	var store *SessionStore
	if c.SessionStore {
		store = NewSessionStore()
		cfg.SessionStore = store
	}
	return cfg, store, nil
}

// requireLoopback keeps plaintext off the network: the plaintext side carries decrypted data.
func requireLoopback(flag, addr string) (*net.UDPAddr, error) {
	udpAddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("dtls-bridge: %s %q is not a UDP address: %w", flag, addr, err)
	}
	if udpAddr.IP == nil || !udpAddr.IP.IsLoopback() {
		return nil, fmt.Errorf("dtls-bridge: %s %q must be a loopback address such as 127.0.0.1:PORT; plaintext never leaves the host", flag, addr)
	}
	return udpAddr, nil
}
