package main

import (
	"encoding/binary"
	"testing"
)

// A datagram of two NFQNL_MSG_PACKET messages, as the kernel sends them: each id is found.
func TestPacketIDsReadsEveryQueuedPacket(t *testing.T) {
	hdr := func(id uint32) []byte {
		b := make([]byte, 7)
		binary.BigEndian.PutUint32(b, id)
		return b
	}
	var dgram []byte
	for _, id := range []uint32{7, 4096} {
		dgram = append(dgram, message(subsysQueue<<8|msgPacket, 0, 0, 0, attr(5 /* NFQA_MARK */, []byte{0, 0, 0, 1}), attr(attrPacketHdr, hdr(id)))...)
	}
	ids := packetIDs(dgram)
	if len(ids) != 2 || ids[0] != 7 || ids[1] != 4096 {
		t.Fatalf("packetIDs = %v, want [7 4096]", ids)
	}
}

// A truncated or foreign message yields no id rather than a panic or a wrong verdict.
func TestPacketIDsIgnoresWhatIsNotAQueuedPacket(t *testing.T) {
	other := message(subsysQueue<<8|msgConfig, 0, 0, 0, attr(attrPacketHdr, []byte{0, 0, 0, 9, 0, 0, 0}))
	if ids := packetIDs(other); len(ids) != 0 {
		t.Fatalf("a config message gave ids %v", ids)
	}
	full := message(subsysQueue<<8|msgPacket, 0, 0, 0, attr(attrPacketHdr, []byte{0, 0, 0, 9, 0, 0, 0}))
	if ids := packetIDs(full[:len(full)-6]); len(ids) != 0 {
		t.Fatalf("a truncated message gave ids %v", ids)
	}
}
