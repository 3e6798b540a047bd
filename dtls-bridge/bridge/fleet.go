package bridge

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v2"
)

// DefaultMaxSessions bounds the sessions one fleet-mode bridge hosts (handshaking or
// established); the DTLS fleet is 1,000 wearables in one process.
const DefaultMaxSessions = 1000

// MaxFleetSessions is the most --max-sessions may ask for: each session holds a UDP socket and
// two goroutines, and the process's file descriptors are bounded too.
const MaxFleetSessions = 10000

// fleetHandshakesAtOnce bounds concurrent handshakes: on 2 cores, a thousand ECDHE handshakes
// at once each outlive their timeout; a bounded pool keeps each one quick.
const fleetHandshakesAtOnce = 32

// maxIdentityBytes bounds a PSK identity (RFC 4279 §5.3: at most 2^16-1 octets; ours are names).
const maxIdentityBytes = 128

// FleetOptions configures fleet mode: many DTLS client sessions to one server in one process,
// each opened by a control command with its own identity, all sharing one plaintext socket on
// which every datagram is framed   sessionId (uint32, big-endian) || payload   (framing.go).
type FleetOptions struct {
	ClientOptions
	MaxSessions int
}

// Fleet hosts many DTLS client sessions, addressed by the ids the TypeScript role gives them.
type Fleet struct {
	opts    FleetOptions
	base    *dtls.Config
	store   *SessionStore
	events  *Emitter
	log     *Logger
	raddr   *net.UDPAddr
	slots   chan struct{}
	plain   *net.UDPConn
	peer    atomic.Value // *net.UDPAddr: fixed by --plain-peer, else the last sender
	started time.Time

	mu       sync.Mutex
	sessions map[uint32]*fleetSession

	counters

	conns     sync.WaitGroup
	loops     sync.WaitGroup
	closed    int32
	closeOnce sync.Once
}

type fleetSession struct {
	id       uint32
	identity string
	conn     *dtls.Conn // nil while handshaking
	udp      *net.UDPConn
	closing  int32
	done     chan struct{}
	traffic  traffic
}

// NewFleet validates options and prepares the configuration every session starts from.
func NewFleet(opts FleetOptions, events *Emitter, log *Logger) (*Fleet, error) {
	if opts.MaxSessions == 0 {
		opts.MaxSessions = DefaultMaxSessions
	}
	if opts.MaxSessions < 1 || opts.MaxSessions > MaxFleetSessions {
		return nil, fmt.Errorf("dtls-bridge: --max-sessions must be 1..%d, got %d", MaxFleetSessions, opts.MaxSessions)
	}
	if opts.Local != "" {
		return nil, fmt.Errorf("dtls-bridge: fleet mode gives each session its own free local port; drop --local (a client-mode flag)")
	}
	if opts.PSKIdentity != "" {
		return nil, fmt.Errorf("dtls-bridge: fleet mode takes each session's PSK identity in its open command, not --psk-identity")
	}
	raddr, peer, err := opts.addresses("fleet")
	if err != nil {
		return nil, err
	}
	f := &Fleet{opts: opts, events: events, log: log, raddr: raddr, slots: make(chan struct{}, fleetHandshakesAtOnce), sessions: map[uint32]*fleetSession{}}
	if peer != nil {
		f.peer.Store(peer)
	}
	if f.base, f.store, err = opts.baseConfig(); err != nil {
		return nil, err
	}
	if err = opts.verifyServer(f.base); err != nil {
		return nil, err
	}
	return f, nil
}

// Start binds the shared plaintext socket and emits "listening"; sessions come with "open".
func (f *Fleet) Start() error {
	plainAddr, _ := requireLoopback("--plain", f.opts.Plain)
	var err error
	if f.plain, err = net.ListenUDP("udp", plainAddr); err != nil {
		return fmt.Errorf("dtls-bridge: cannot bind --plain %s: %w", f.opts.Plain, err)
	}
	f.started = time.Now()
	f.events.Emit("listening", Event{"mode": "fleet", "plain": f.plain.LocalAddr().String(), "connect": f.raddr.String(), "maxSessions": f.opts.MaxSessions})
	f.loops.Add(1)
	go f.plainLoop()
	return nil
}

// PlainAddr is the bridge's shared plaintext socket.
func (f *Fleet) PlainAddr() net.Addr { return f.plain.LocalAddr() }

// sessionConfig is the base configuration with this session's own credential: a PSK identity
// (the fleet's --psk) or a certificate and key.
func (f *Fleet) sessionConfig(cmd Command) (*dtls.Config, error) {
	config := *f.base
	switch {
	case cmd.Identity != "" && (cmd.CertFile != "" || cmd.KeyFile != ""):
		return nil, fmt.Errorf("dtls-bridge: session %d: give either an identity (PSK) or certFile and keyFile, not both", cmd.PeerID)
	case cmd.Identity != "":
		if config.PSK == nil {
			return nil, fmt.Errorf("dtls-bridge: session %d: a PSK identity needs the bridge's --psk", cmd.PeerID)
		}
		if len(cmd.Identity) > maxIdentityBytes {
			return nil, fmt.Errorf("dtls-bridge: session %d: identity of %d bytes is over %d", cmd.PeerID, len(cmd.Identity), maxIdentityBytes)
		}
		config.PSKIdentityHint = []byte(cmd.Identity)
	case cmd.CertFile != "" && cmd.KeyFile != "":
		cert, err := loadCertificate(cmd.CertFile, cmd.KeyFile, false)
		if err != nil {
			return nil, fmt.Errorf("dtls-bridge: session %d: %w", cmd.PeerID, err)
		}
		config.Certificates = []tls.Certificate{cert}
	case config.PSK != nil:
		return nil, fmt.Errorf("dtls-bridge: session %d: open needs its PSK identity, e.g. {\"cmd\":\"open\",\"peerId\":1,\"identity\":\"wearable-0001\"}", cmd.PeerID)
	case len(config.Certificates) == 0:
		return nil, fmt.Errorf("dtls-bridge: session %d: open needs certFile and keyFile (or start the bridge with --psk and give an identity)", cmd.PeerID)
	}
	return &config, nil
}

// Open starts one session's handshake in the background; its outcome is a "handshake" or
// "handshake-failed" event with the session's id as peerId. Refused at once (returned): id 0,
// an id in use, the session bound reached, a bad credential.
func (f *Fleet) Open(cmd Command) error {
	if cmd.PeerID == 0 {
		return fmt.Errorf("dtls-bridge: open needs a session id (peerId) from 1 to 4294967295")
	}
	config, err := f.sessionConfig(cmd)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if atomic.LoadInt32(&f.closed) != 0 {
		return fmt.Errorf("dtls-bridge: the fleet is closing")
	}
	if _, busy := f.sessions[cmd.PeerID]; busy {
		return fmt.Errorf("dtls-bridge: session %d is already open; close it first", cmd.PeerID)
	}
	if len(f.sessions) >= f.opts.MaxSessions {
		return fmt.Errorf("dtls-bridge: %d sessions are open, the --max-sessions bound; close one first", len(f.sessions))
	}
	s := &fleetSession{id: cmd.PeerID, identity: cmd.Identity, done: make(chan struct{})}
	f.sessions[s.id] = s
	f.conns.Add(1)
	go f.run(s, config)
	return nil
}

// run handshakes (at most fleetHandshakesAtOnce at a time) and relays until the session ends.
func (f *Fleet) run(s *fleetSession, config *dtls.Config) {
	defer f.conns.Done()
	defer close(s.done)
	defer f.forget(s)
	f.slots <- struct{}{}
	conn, err := f.handshake(s, config)
	<-f.slots
	if err != nil {
		return
	}
	how, detail := pumpDTLS(conn, s.id, &s.closing, f.events, &s.traffic, func(payload []byte) {
		peer, _ := f.peer.Load().(*net.UDPAddr)
		if peer == nil {
			atomic.AddUint64(&f.plainDropped, 1)
			return
		}
		if _, err := f.plain.WriteToUDP(EncodeFrame(s.id, payload), peer); err != nil {
			f.log.Logf(LogWarn, "session %d: cannot deliver plaintext to %s: %v", s.id, peer, err)
		}
	})
	_ = conn.Close()
	f.events.Emit("closed", s.traffic.fields(Event{"scope": "peer", "peerId": s.id, "identity": s.identity, "how": how, "error": detail}))
}

func (f *Fleet) handshake(s *fleetSession, config *dtls.Config) (*dtls.Conn, error) {
	if atomic.LoadInt32(&s.closing) != 0 {
		return nil, fmt.Errorf("closed before its handshake")
	}
	udp, err := net.DialUDP("udp", nil, f.raddr)
	if err != nil {
		atomic.AddUint64(&f.handshakesFailed, 1)
		f.events.Emit("handshake-failed", Event{"peerId": s.id, "identity": s.identity, "remote": f.raddr.String(), "reason": ReasonOther, "error": "dtls-bridge: cannot open UDP socket: " + err.Error()})
		return nil, err
	}
	logs := newConnLogs(f.log, fmt.Sprintf("session %d (%s)", s.id, s.identity))
	config.LoggerFactory = logs
	f.mu.Lock()
	s.udp = udp
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), f.opts.HandshakeTimeout)
	started := time.Now()
	conn, err := dtls.ClientWithContext(ctx, guard(udp, &f.recordsDropped), config)
	cancel()
	if err != nil {
		_ = udp.Close()
		atomic.AddUint64(&f.handshakesFailed, 1)
		failure := Classify(err, config.PSK != nil, logs.DecryptFailures())
		f.events.Emit("handshake-failed", Event{"peerId": s.id, "identity": s.identity, "remote": f.raddr.String(), "reason": failure.Reason, "alert": failure.Alert, "error": failure.Error, "durationMs": millis(time.Since(started))})
		return nil, err
	}
	f.mu.Lock()
	s.conn = conn
	closing := atomic.LoadInt32(&s.closing) != 0
	f.mu.Unlock()
	atomic.AddUint64(&f.handshakesOK, 1)
	ev := handshakeEvent(s.id, conn, started, f.store)
	ev["identity"] = s.identity
	f.events.Emit("handshake", ev)
	if closing {
		_ = conn.Close()
	}
	return conn, nil
}

func (f *Fleet) forget(s *fleetSession) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sessions[s.id] == s {
		delete(f.sessions, s.id)
	}
}

// plainLoop encrypts each framed datagram from the TypeScript role onto its session.
func (f *Fleet) plainLoop() {
	defer f.loops.Done()
	readPlain(f.plain, &f.peer, f.opts.PlainPeer != "", &f.counters, &f.closed, f.events, f.log, func(datagram []byte) {
		id, payload, err := DecodeFrame(datagram)
		if err != nil {
			atomic.AddUint64(&f.plainDropped, 1)
			f.log.Logf(LogWarn, "%v", err)
			return
		}
		f.mu.Lock()
		s := f.sessions[id]
		var conn *dtls.Conn
		if s != nil {
			conn = s.conn
		}
		f.mu.Unlock()
		if conn == nil {
			atomic.AddUint64(&f.plainDropped, 1)
			f.log.Logf(LogWarn, "dropping plaintext for session %d: no established session by that id", id)
			return
		}
		if _, err := conn.Write(payload); err != nil {
			f.log.Logf(LogWarn, "session %d: encrypt/send failed: %v", id, err)
			return
		}
		s.traffic.out(len(payload))
	})
}

// Stats is the body of the "stats" event: counts, not one entry per session (there are thousands).
func (f *Fleet) Stats() Event {
	f.mu.Lock()
	open, established := len(f.sessions), 0
	for _, s := range f.sessions {
		if s.conn != nil {
			established++
		}
	}
	f.mu.Unlock()
	return f.statsFields(Event{"mode": "fleet", "sessions": open, "established": established, "maxSessions": f.opts.MaxSessions}, f.store, f.started)
}

// ClosePeer closes one session (close_notify when established; a handshake in progress is cut).
func (f *Fleet) ClosePeer(id uint32) error {
	f.mu.Lock()
	s := f.sessions[id]
	if s == nil {
		f.mu.Unlock()
		return fmt.Errorf("dtls-bridge: no open session %d", id)
	}
	f.closeLocked(s)
	f.mu.Unlock()
	<-s.done
	return nil
}

// closeLocked marks s closing and closes what it holds; callers hold mu.
func (f *Fleet) closeLocked(s *fleetSession) {
	atomic.StoreInt32(&s.closing, 1)
	if s.conn != nil {
		_ = s.conn.Close()
	} else if s.udp != nil {
		_ = s.udp.Close()
	}
}

// Close ends every session (each emits "closed"), then emits the bridge's own "closed".
func (f *Fleet) Close() {
	f.closeOnce.Do(func() {
		f.mu.Lock()
		atomic.StoreInt32(&f.closed, 1)
		for _, s := range f.sessions {
			f.closeLocked(s)
		}
		f.mu.Unlock()
		f.conns.Wait()
		if f.plain != nil {
			_ = f.plain.Close()
		}
		f.loops.Wait()
		f.events.Emit("closed", Event{"scope": "bridge", "mode": "fleet", "handshakesOk": atomic.LoadUint64(&f.handshakesOK), "handshakesFailed": atomic.LoadUint64(&f.handshakesFailed)})
	})
}
