package bridge

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"strings"
)

// Failure reasons reported in handshake-failed and alert events.
const (
	ReasonBadCertificate   = "bad-certificate"
	ReasonUnknownCA        = "unknown-ca"
	ReasonHostnameMismatch = "hostname-mismatch"
	ReasonExpired          = "expired" // also "not yet valid": Go's x509 reports both as Expired
	ReasonInsecureAlg      = "insecure-algorithm"
	ReasonNoCertificate    = "no-certificate"
	ReasonBadSignature     = "bad-signature"
	ReasonTimeout          = "handshake-timeout"
	ReasonPSKMismatch      = "psk-mismatch"
	ReasonNoSharedCipher   = "no-shared-cipher"
	ReasonEMSRequired      = "ems-required"
	ReasonProtocolVersion  = "protocol-version"
	ReasonHandshakeFailure = "handshake-failure"
	ReasonCancelled        = "cancelled"
	ReasonOther            = "other"
)

// alertReasons maps alert descriptions a peer sent (pion's spelling, RFC 5246 §7.2) to reasons.
var alertReasons = map[string]string{
	"BadCertificate":         ReasonBadCertificate,
	"UnsupportedCertificate": ReasonBadCertificate,
	"CertificateUnknown":     ReasonBadCertificate,
	"CertificateRevoked":     ReasonBadCertificate,
	"CertificateExpired":     ReasonExpired,
	"UnknownCA":              ReasonUnknownCA,
	"NoCertificate":          ReasonNoCertificate,
	"ProtocolVersion":        ReasonProtocolVersion,
	"HandshakeFailure":       ReasonHandshakeFailure,
	"InsufficientSecurity":   ReasonNoSharedCipher,
	"DecryptError":           ReasonHandshakeFailure,
	"BadRecordMac":           ReasonHandshakeFailure,
}

// pionMessages maps the text of pion's unexported errors to reasons; pion exports no values
// to compare with, so its messages (stable across v2) are the only handle.
var pionMessages = []struct{ text, reason string }{
	{"server required client verification, but got none", ReasonNoCertificate},
	{"client sent certificate but did not verify it", ReasonBadCertificate},
	{"do not support any shared cipher suites", ReasonNoSharedCipher},
	{"invalid or unknown cipher suite", ReasonNoSharedCipher},
	{"Extended Master Secret extension", ReasonEMSRequired},
	{"unsupported protocol version", ReasonProtocolVersion},
	{"expected and actual key signature do not match", ReasonBadSignature},
	{"certificate chain is not signed by an acceptable CA", ReasonNoCertificate},
}

// Failure is a classified handshake or connection error.
type Failure struct {
	Reason string // one of the Reason* constants
	Alert  string // the alert the peer sent, e.g. "Fatal: BadCertificate", if that caused it
	Error  string // the error text
}

// Classify turns a pion error into a reason. psk says whether PSK suites were offered and
// decryptFailures how many records pion dropped as undecryptable during the handshake: with a
// wrong PSK the peers derive different keys, pion drops the peer's Finished silently and the
// handshake only times out, so a timeout after decrypt failures in PSK mode means psk-mismatch.
func Classify(err error, psk bool, decryptFailures int) Failure {
	f := Failure{Reason: ReasonOther, Error: err.Error()}
	if alert := peerAlert(err); alert != "" {
		f.Alert = alert
		description := alert[strings.LastIndex(alert, " ")+1:]
		if reason, ok := alertReasons[description]; ok {
			f.Reason = reason
		}
		return f
	}
	var hostErr x509.HostnameError
	var caErr x509.UnknownAuthorityError
	var invalidErr x509.CertificateInvalidError
	var algErr x509.InsecureAlgorithmError
	var netErr net.Error
	switch {
	case errors.As(err, &hostErr):
		f.Reason = ReasonHostnameMismatch
	case errors.As(err, &caErr):
		f.Reason = ReasonUnknownCA
	case errors.As(err, &invalidErr):
		f.Reason = ReasonBadCertificate
		if invalidErr.Reason == x509.Expired {
			f.Reason = ReasonExpired
		}
	case errors.As(err, &algErr):
		f.Reason = ReasonInsecureAlg
	case errors.Is(err, context.Canceled):
		f.Reason = ReasonCancelled
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		f.Reason = ReasonTimeout
		if psk && decryptFailures > 0 {
			f.Reason = ReasonPSKMismatch
		}
	case strings.Contains(err.Error(), "expected and actual verify data does not match"):
		// The Finished MAC is keyed by the master secret; in PSK mode that derives from the PSK.
		f.Reason = ReasonHandshakeFailure
		if psk {
			f.Reason = ReasonPSKMismatch
		}
	default:
		for _, m := range pionMessages {
			if strings.Contains(err.Error(), m.text) {
				f.Reason = m.reason
				break
			}
		}
	}
	return f
}

// peerAlert extracts "Level: Description" from pion's alert error ("alert: Alert Fatal:
// BadCertificate"), the form in which pion reports an alert the peer sent.
func peerAlert(err error) string {
	const marker = "alert: Alert "
	text := err.Error()
	i := strings.Index(text, marker)
	if i < 0 {
		return ""
	}
	return text[i+len(marker):]
}

// IsFatalAlert reports whether a read error is an alert that ends the connection.
func IsFatalAlert(alert string) bool {
	return strings.HasPrefix(alert, "Fatal") || strings.HasSuffix(alert, "CloseNotify")
}
