package bridge

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/gob"
	"encoding/hex"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v2"
)

// ProtocolVersion is the only version pion/dtls v2 negotiates: its client and server reject
// any other ServerHello/ClientHello version (RFC 6347). No Debian package offers DTLS 1.3.
const ProtocolVersion = "DTLS 1.2"

// negotiated is the part of pion's serialized State the bridge reports. pion 2.2.6 has no
// accessor for the negotiated cipher suite; State.MarshalBinary (gob) carries its id, and gob
// fills only the fields named here.
type negotiated struct {
	CipherSuiteID uint16
	SessionID     []byte
}

func negotiatedOf(conn *dtls.Conn) (negotiated, error) {
	state := conn.ConnectionState()
	raw, err := state.MarshalBinary()
	if err != nil {
		return negotiated{}, err
	}
	var n negotiated
	err = gob.NewDecoder(bytes.NewReader(raw)).Decode(&n)
	return n, err
}

// handshakeEvent describes an established connection for the "handshake" event.
func handshakeEvent(peerID uint32, conn *dtls.Conn, started time.Time, store *SessionStore) Event {
	ev := Event{
		"peerId":     peerID,
		"remote":     conn.RemoteAddr().String(),
		"local":      conn.LocalAddr().String(),
		"version":    ProtocolVersion,
		"durationMs": millis(time.Since(started)),
		"resumed":    false,
	}
	if n, err := negotiatedOf(conn); err == nil {
		ev["cipherSuite"] = CipherName(dtls.CipherSuiteID(n.CipherSuiteID))
		ev["sessionId"] = hex.EncodeToString(n.SessionID)
		ev["resumed"] = store.StoredBefore(n.SessionID, started)
	} else {
		ev["cipherSuite"] = "unknown: " + err.Error()
	}
	state := conn.ConnectionState()
	if len(state.PeerCertificates) > 0 {
		ev["peerCertificate"] = certificateSummary(state.PeerCertificates[0])
	}
	if len(state.IdentityHint) > 0 {
		// Server: the identity the client sent; client: the hint the server sent (RFC 4279 §2).
		ev["pskIdentity"] = string(state.IdentityHint)
	}
	return ev
}

// certificateSummary names the peer's leaf certificate: subject CN and SHA-256 of its DER.
func certificateSummary(der []byte) Event {
	sum := sha256.Sum256(der)
	summary := Event{"sha256": hex.EncodeToString(sum[:])}
	if cert, err := x509.ParseCertificate(der); err == nil {
		summary["subjectCN"] = cert.Subject.CommonName
		summary["issuerCN"] = cert.Issuer.CommonName
		summary["notAfter"] = cert.NotAfter.UTC().Format(time.RFC3339)
	}
	return summary
}

// traffic counts application datagrams through one connection.
type traffic struct {
	datagramsIn, datagramsOut, bytesIn, bytesOut uint64
}

func (t *traffic) in(n int) {
	atomic.AddUint64(&t.datagramsIn, 1)
	atomic.AddUint64(&t.bytesIn, uint64(n))
}

func (t *traffic) out(n int) {
	atomic.AddUint64(&t.datagramsOut, 1)
	atomic.AddUint64(&t.bytesOut, uint64(n))
}

func (t *traffic) fields(ev Event) Event {
	ev["datagramsIn"] = atomic.LoadUint64(&t.datagramsIn)
	ev["datagramsOut"] = atomic.LoadUint64(&t.datagramsOut)
	ev["bytesIn"] = atomic.LoadUint64(&t.bytesIn)
	ev["bytesOut"] = atomic.LoadUint64(&t.bytesOut)
	return ev
}
