// Package testpki makes a throw-away PKI for the bridge's tests (never for real use).
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI is a throw-away PKI: a CA, a server certificate for cloud.testbed.local, a client
// certificate, and a second CA that issued none of them. Files live in t.TempDir().
type PKI struct {
	CAFile, OtherCAFile           string
	ServerCert, ServerKey         string // cloud.testbed.local, signed by CAFile
	ClientCert, ClientKey         string // CN wearable-01, client-auth EKU, signed by CAFile
	ExpiredServerCert, ExpiredKey string // cloud.testbed.local, expired yesterday
}

type issued struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func New(t *testing.T) *PKI {
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
	p := &PKI{}
	p.CAFile = writePEM(t, dir, "ca.pem", ca, false)
	p.OtherCAFile = writePEM(t, dir, "other-ca.pem", other, false)
	p.ServerCert, p.ServerKey = writePEM(t, dir, "server.pem", server, false), writePEM(t, dir, "server.key", server, true)
	p.ExpiredServerCert, p.ExpiredKey = writePEM(t, dir, "expired.pem", expired, false), writePEM(t, dir, "expired.key", expired, true)
	p.ClientCert, p.ClientKey = writePEM(t, dir, "client.pem", client, false), writePEM(t, dir, "client.key", client, true)
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
