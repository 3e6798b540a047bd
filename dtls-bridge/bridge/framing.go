package bridge

import (
	"encoding/binary"
	"fmt"
)

// PeerHeaderLen is the size of the peer-id header on the server's plaintext side.
//
// Framing (server mode only): every plaintext datagram between the bridge and the TypeScript
// role is   peerId (uint32, big-endian) || payload.   The bridge assigns peer ids from 1 upwards
// in handshake order and never reuses one within a process; the TS role answers a peer by
// sending a datagram with the same header. One UDP datagram carries exactly one DTLS
// application-data record's plaintext, so message boundaries are kept.
const PeerHeaderLen = 4

// EncodeFrame prefixes payload with the peer id header.
func EncodeFrame(peerID uint32, payload []byte) []byte {
	frame := make([]byte, PeerHeaderLen+len(payload))
	binary.BigEndian.PutUint32(frame, peerID)
	copy(frame[PeerHeaderLen:], payload)
	return frame
}

// DecodeFrame splits a framed datagram into peer id and payload.
func DecodeFrame(frame []byte) (uint32, []byte, error) {
	if len(frame) < PeerHeaderLen {
		return 0, nil, fmt.Errorf("dtls-bridge: plaintext datagram of %d bytes is shorter than the %d-byte peer-id header; prefix each datagram with the peer id (uint32 big-endian)", len(frame), PeerHeaderLen)
	}
	return binary.BigEndian.Uint32(frame), frame[PeerHeaderLen:], nil
}
