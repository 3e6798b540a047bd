package bridge

import (
	"net"
	"sync/atomic"

	"github.com/pion/dtls/v2/pkg/protocol"
	"github.com/pion/dtls/v2/pkg/protocol/recordlayer"
)

// guardedConn sits between the UDP socket and pion and discards, before pion sees them, the
// records that would harm it. RFC 6347 §4.1.2.7: invalid records SHOULD be silently discarded.
//
//   - A datagram that does not split into whole records: pion 2.2.6 treats it as a read error
//     and, during a handshake, aborts that handshake; anyone who can send one datagram from
//     the peer's address could end the peer's handshake.
//   - An epoch-0 record that is ApplicationData, or an epoch-0 Alert or ChangeCipherSpec that
//     does not parse: pion 2.2.6 (conn.go readAndBuffer) then returns a nil *alertError as a
//     non-nil error and dereferences it, a panic that kills the whole process and with it every
//     other peer. Fixed upstream after 2.2.6; Debian ships 2.2.6, so the bridge filters here.
//   - Records of content types DTLS 1.2 does not define.
//
// Epoch > 0 records are left to pion: it drops those that fail to decrypt.
type guardedConn struct {
	net.Conn
	dropped *uint64
}

func guard(conn net.Conn, dropped *uint64) net.Conn {
	return &guardedConn{Conn: conn, dropped: dropped}
}

// Read returns the next datagram holding at least one acceptable record, with the
// unacceptable records removed.
func (g *guardedConn) Read(p []byte) (int, error) {
	for {
		n, err := g.Conn.Read(p)
		if err != nil {
			return n, err
		}
		kept, ok := filterDatagram(p[:n])
		if ok {
			return copy(p, kept), nil
		}
		atomic.AddUint64(g.dropped, 1)
	}
}

// filterDatagram keeps the acceptable records of one datagram; ok is false if none is.
func filterDatagram(datagram []byte) ([]byte, bool) {
	records, err := recordlayer.UnpackDatagram(datagram)
	if err != nil {
		return nil, false
	}
	kept := make([]byte, 0, len(datagram))
	for _, record := range records {
		if acceptableRecord(record) {
			kept = append(kept, record...)
		}
	}
	return kept, len(kept) > 0
}

func acceptableRecord(record []byte) bool {
	h := &recordlayer.Header{}
	if err := h.Unmarshal(record); err != nil {
		return false
	}
	switch h.ContentType {
	case protocol.ContentTypeHandshake:
		return true // may be a fragment: pion reassembles and validates it
	case protocol.ContentTypeApplicationData:
		return h.Epoch > 0 // RFC 6347 §4.1: application data is never sent in epoch 0
	case protocol.ContentTypeAlert, protocol.ContentTypeChangeCipherSpec:
		if h.Epoch > 0 {
			return true
		}
		return (&recordlayer.RecordLayer{}).Unmarshal(record) == nil
	}
	return false
}

// isHandshakeDatagram is the listener's accept filter: only a datagram whose first record is
// a handshake record may create a new per-peer connection (as pion's own dtls.Listen does).
func isHandshakeDatagram(datagram []byte) bool {
	records, err := recordlayer.UnpackDatagram(datagram)
	if err != nil || len(records) == 0 {
		return false
	}
	h := &recordlayer.Header{}
	return h.Unmarshal(records[0]) == nil && h.ContentType == protocol.ContentTypeHandshake
}
