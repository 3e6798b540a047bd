package bridge

import (
	"errors"
	"io"
	"sync/atomic"

	"github.com/pion/dtls/v2"
)

// maxDatagram is the largest plaintext the bridge moves in one datagram (UDP's limit).
const maxDatagram = 65535

// maxReadErrors bounds consecutive non-fatal read errors on one connection (a warning alert,
// an undecodable datagram) before the bridge gives the connection up.
const maxReadErrors = 1000

// pumpDTLS hands every decrypted datagram of conn to deliver until the connection ends and
// returns how it ended: "peer-closed" (close_notify or end of stream), "local" (closed by
// this side, closing is set) or "alert"/"error" with the text. Alerts are also emitted.
func pumpDTLS(conn *dtls.Conn, peerID uint32, closing *int32, events *Emitter, t *traffic, deliver func([]byte)) (string, string) {
	buf := make([]byte, maxDatagram)
	for readErrors := 0; readErrors < maxReadErrors; {
		n, err := conn.Read(buf)
		if err == nil {
			readErrors = 0
			t.in(n)
			deliver(buf[:n])
			continue
		}
		if atomic.LoadInt32(closing) != 0 {
			return "local", ""
		}
		if errors.Is(err, io.EOF) {
			return "peer-closed", ""
		}
		if alert := peerAlert(err); alert != "" {
			failure := Classify(err, false, 0)
			events.Emit("alert", Event{"peerId": peerID, "remote": conn.RemoteAddr().String(), "alert": alert, "reason": failure.Reason, "error": failure.Error})
			if IsFatalAlert(alert) {
				if alert == "Warning: CloseNotify" {
					return "peer-closed", ""
				}
				return "alert", alert
			}
		}
		readErrors++
	}
	return "error", "too many consecutive read errors"
}
