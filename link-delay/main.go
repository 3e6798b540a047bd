// link-delay holds each packet that iptables hands to an NFQUEUE queue for a fixed time, then
// lets it go: the emulated link's delay for what a userspace relay cannot delay itself — TCP's
// SYN and SYN-ACK, which the relay's kernel answers before the relay ever sees a connection.
// (This kernel has no tc netem.) It speaks nfnetlink_queue directly (linux/netfilter/
// nfnetlink_queue.h) with the standard library only, so it builds static and offline.
//
//	link-delay --queue 0 --delay-ms 25
//
// It prints "link-delay: ready" once bound, and one line per error; it exits on SIGTERM.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

const (
	netlinkNetfilter = 12 // NETLINK_NETFILTER
	subsysQueue      = 3  // NFNL_SUBSYS_QUEUE
	msgPacket        = 0  // NFQNL_MSG_PACKET
	msgVerdict       = 1  // NFQNL_MSG_VERDICT
	msgConfig        = 2  // NFQNL_MSG_CONFIG
	attrCfgCmd       = 1  // NFQA_CFG_CMD
	attrCfgParams    = 2  // NFQA_CFG_PARAMS
	attrPacketHdr    = 1  // NFQA_PACKET_HDR
	attrVerdictHdr   = 2  // NFQA_VERDICT_HDR
	cmdBind          = 1  // NFQNL_CFG_CMD_BIND
	copyMeta         = 1  // NFQNL_COPY_META: the packet id is all we need
	nfAccept         = 1  // NF_ACCEPT
	nlmFRequest      = 0x1
	nlmFAck          = 0x4
	nlmsgError       = 0x2
	nlmsgHdrLen      = 16
	nfgenmsgLen      = 4
)

var native = binary.LittleEndian // netlink headers are host order (amd64, arm64)

func attr(typ uint16, payload []byte) []byte {
	n := 4 + len(payload)
	b := make([]byte, (n+3)&^3)
	native.PutUint16(b[0:], uint16(n))
	native.PutUint16(b[2:], typ)
	copy(b[4:], payload)
	return b
}

func message(typ uint16, flags uint16, seq uint32, queue uint16, attrs ...[]byte) []byte {
	body := []byte{syscall.AF_UNSPEC, 0, 0, 0}
	binary.BigEndian.PutUint16(body[2:], queue) // res_id, network order
	for _, a := range attrs {
		body = append(body, a...)
	}
	b := make([]byte, nlmsgHdrLen, nlmsgHdrLen+len(body))
	native.PutUint32(b[0:], uint32(nlmsgHdrLen+len(body)))
	native.PutUint16(b[4:], typ)
	native.PutUint16(b[6:], flags)
	native.PutUint32(b[8:], seq)
	return append(b, body...)
}

type queue struct {
	fd  int
	num uint16
	mu  sync.Mutex
	seq uint32
}

func (q *queue) send(b []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return syscall.Sendto(q.fd, b, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK})
}

// config sends one NFQNL_MSG_CONFIG and waits for the kernel's acknowledgement.
func (q *queue) config(a []byte) error {
	q.seq++
	if err := q.send(message(subsysQueue<<8|msgConfig, nlmFRequest|nlmFAck, q.seq, q.num, a)); err != nil {
		return err
	}
	buf := make([]byte, 8192)
	n, _, err := syscall.Recvfrom(q.fd, buf, 0)
	if err != nil {
		return err
	}
	if n >= nlmsgHdrLen+4 && native.Uint16(buf[4:]) == nlmsgError {
		if code := int32(native.Uint32(buf[nlmsgHdrLen:])); code != 0 {
			return syscall.Errno(-code)
		}
	}
	return nil
}

func (q *queue) accept(id uint32) {
	v := make([]byte, 8)
	binary.BigEndian.PutUint32(v[0:], nfAccept)
	binary.BigEndian.PutUint32(v[4:], id)
	if err := q.send(message(subsysQueue<<8|msgVerdict, nlmFRequest, 0, q.num, attr(attrVerdictHdr, v))); err != nil {
		fmt.Fprintf(os.Stderr, "link-delay: verdict for packet %d: %v\n", id, err)
	}
}

// packetIDs returns the ids of the queued packets in one datagram from the kernel.
func packetIDs(buf []byte) []uint32 {
	var ids []uint32
	for len(buf) >= nlmsgHdrLen {
		l := int(native.Uint32(buf[0:]))
		if l < nlmsgHdrLen || l > len(buf) {
			break
		}
		if native.Uint16(buf[4:]) == subsysQueue<<8|msgPacket {
			attrs := buf[nlmsgHdrLen+nfgenmsgLen : l]
			for len(attrs) >= 4 {
				al := int(native.Uint16(attrs[0:]))
				if al < 4 || al > len(attrs) {
					break
				}
				if native.Uint16(attrs[2:])&0x7fff == attrPacketHdr && al >= 8 {
					ids = append(ids, binary.BigEndian.Uint32(attrs[4:]))
				}
				attrs = attrs[(al+3)&^3:]
			}
		}
		buf = buf[(l+3)&^3:]
	}
	return ids
}

func main() {
	num := flag.Uint("queue", 0, "NFQUEUE number (iptables -j NFQUEUE --queue-num N)")
	delayMs := flag.Float64("delay-ms", 0, "how long each packet is held, in ms")
	flag.Parse()
	if *delayMs < 0 || *delayMs > 10000 || *num > 65535 {
		fmt.Fprintln(os.Stderr, "link-delay: --delay-ms must be 0..10000 and --queue 0..65535")
		os.Exit(2)
	}
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW, netlinkNetfilter)
	if err == nil {
		err = syscall.Bind(fd, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK})
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "link-delay: netlink socket: %v (needs CAP_NET_ADMIN)\n", err)
		os.Exit(1)
	}
	q := &queue{fd: fd, num: uint16(*num)}
	cmd := []byte{cmdBind, 0, 0, syscall.AF_INET}
	params := make([]byte, 5)
	binary.BigEndian.PutUint32(params[0:], 0xffff)
	params[4] = copyMeta
	if err := q.config(attr(attrCfgCmd, cmd)); err != nil {
		fmt.Fprintf(os.Stderr, "link-delay: bind queue %d: %v\n", *num, err)
		os.Exit(1)
	}
	if err := q.config(attr(attrCfgParams, params)); err != nil {
		fmt.Fprintf(os.Stderr, "link-delay: queue %d copy mode: %v\n", *num, err)
		os.Exit(1)
	}
	fmt.Println("link-delay: ready")
	delay := time.Duration(*delayMs * float64(time.Millisecond))
	buf := make([]byte, 65536)
	for {
		n, _, err := syscall.Recvfrom(fd, buf, 0)
		if err != nil {
			if err == syscall.EINTR || err == syscall.ENOBUFS {
				continue
			}
			fmt.Fprintf(os.Stderr, "link-delay: receive: %v\n", err)
			os.Exit(1)
		}
		for _, id := range packetIDs(buf[:n]) {
			id := id
			time.AfterFunc(delay, func() { q.accept(id) })
		}
	}
}
