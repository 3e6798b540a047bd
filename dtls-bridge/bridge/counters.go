package bridge

import (
	"net"
	"sync/atomic"
	"time"
)

// counters are what a client-side role (client or fleet mode) counts for its "stats" event;
// updated with sync/atomic from the relay goroutines.
type counters struct {
	handshakesOK, handshakesFailed, plainDropped, recordsDropped uint64
}

// statsFields adds the counts, the stored sessions and the uptime to a stats event.
func (c *counters) statsFields(ev Event, store *SessionStore, started time.Time) Event {
	ev["handshakesOk"] = atomic.LoadUint64(&c.handshakesOK)
	ev["handshakesFailed"] = atomic.LoadUint64(&c.handshakesFailed)
	ev["plainDropped"] = atomic.LoadUint64(&c.plainDropped)
	ev["recordsDropped"] = atomic.LoadUint64(&c.recordsDropped)
	ev["sessionsStored"] = store.Len()
	ev["uptimeMs"] = millis(time.Since(started))
	return ev
}

// readPlain reads the TypeScript role's datagrams from a client-side role's loopback plaintext
// socket until it is closed, and hands each accepted one to handle. Accepted: from loopback and,
// with --plain-peer (fixed), from that address only; otherwise the sender becomes the peer that
// decrypted datagrams go to. Everything else is dropped and counted.
func readPlain(plain *net.UDPConn, peer *atomic.Value, fixed bool, c *counters, closed *int32, events *Emitter, log *Logger, handle func([]byte)) {
	buf := make([]byte, maxDatagram)
	for {
		n, src, err := plain.ReadFromUDP(buf)
		if err != nil {
			if atomic.LoadInt32(closed) == 0 {
				events.Emit("error", Event{"scope": "plain", "error": "dtls-bridge: plaintext socket failed: " + err.Error()})
			}
			return
		}
		if p, _ := peer.Load().(*net.UDPAddr); fixed && (!src.IP.Equal(p.IP) || src.Port != p.Port) {
			atomic.AddUint64(&c.plainDropped, 1)
			log.Logf(LogWarn, "dropping plaintext from %s: only --plain-peer %s may send", src, p)
			continue
		}
		if !src.IP.IsLoopback() {
			atomic.AddUint64(&c.plainDropped, 1)
			continue
		}
		if !fixed {
			peer.Store(src)
		}
		handle(buf[:n])
	}
}
