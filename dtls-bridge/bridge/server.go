package bridge

import (
	"context"
	"fmt"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/pion/udp/v2"
)

// ServerOptions configures server mode (flags in cmd/dtls-bridge, documented in README.md).
type ServerOptions struct {
	Common
	Listen     string // DTLS side, UDP
	Plain      string // where decrypted datagrams go (the TypeScript role), loopback
	PlainLocal string // the bridge's own plaintext socket; "" picks a free loopback port
	ClientAuth string // none | request | require
	MaxPeers   int    // bound on connections handshaking or established at once
}

// DefaultMaxPeers bounds per-peer state; the listener's backlog bounds unaccepted ones.
const DefaultMaxPeers = 1024

// Server terminates DTLS for many peers and relays their plaintext to one TypeScript role
// with the peer-id framing of framing.go.
type Server struct {
	opts      ServerOptions
	config    *dtls.Config
	store     *SessionStore
	events    *Emitter
	log       *Logger
	plainPeer *net.UDPAddr

	ctx      context.Context
	cancel   context.CancelFunc
	listener net.Listener
	plain    *net.UDPConn
	started  time.Time

	mu     sync.Mutex
	peers  map[uint32]*serverPeer
	active int // handshaking + established

	nextID                                       uint32
	handshakesOK, handshakesFailed, plainDropped uint64
	recordsDropped, peersRefused                 uint64

	conns     sync.WaitGroup // per-peer goroutines
	loops     sync.WaitGroup // accept and plaintext loops
	closeOnce sync.Once
}

type serverPeer struct {
	id      uint32
	conn    *dtls.Conn
	remote  string
	closing int32
	traffic traffic
}

// NewServer validates options and prepares the pion configuration.
func NewServer(opts ServerOptions, events *Emitter, log *Logger) (*Server, error) {
	if opts.Listen == "" || opts.Plain == "" {
		return nil, fmt.Errorf("dtls-bridge: server mode needs --listen HOST:PORT and --plain 127.0.0.1:PORT")
	}
	plainPeer, err := requireLoopback("--plain", opts.Plain)
	if err != nil {
		return nil, err
	}
	if opts.PlainLocal == "" {
		opts.PlainLocal = "127.0.0.1:0"
	}
	if opts.MaxPeers <= 0 {
		opts.MaxPeers = DefaultMaxPeers
	}
	config, store, err := opts.baseConfig()
	if err != nil {
		return nil, err
	}
	if len(config.Certificates) == 0 && config.PSK == nil {
		return nil, fmt.Errorf("dtls-bridge: server mode needs --cert/--key, --psk, or both")
	}
	// RFC 5246 §7.4.4: the server asks for a client certificate; "request" verifies one if
	// sent, "require" aborts without a valid one. Either verifies against --ca only.
	switch opts.ClientAuth {
	case "", "none":
		config.ClientAuth = dtls.NoClientCert
	case "request":
		config.ClientAuth = dtls.VerifyClientCertIfGiven
	case "require":
		config.ClientAuth = dtls.RequireAndVerifyClientCert
	default:
		return nil, fmt.Errorf("dtls-bridge: --client-auth must be none, request or require, got %q", opts.ClientAuth)
	}
	if config.ClientAuth != dtls.NoClientCert {
		if opts.CAFile == "" {
			return nil, fmt.Errorf("dtls-bridge: --client-auth %s needs --ca with the CA that issues client certificates", opts.ClientAuth)
		}
		if config.ClientCAs, err = loadPool(opts.CAFile); err != nil {
			return nil, err
		}
	}
	return &Server{opts: opts, config: config, store: store, events: events, log: log, plainPeer: plainPeer, peers: map[uint32]*serverPeer{}}, nil
}

// Start binds both sockets, emits "listening" and starts serving.
func (s *Server) Start() error {
	laddr, err := net.ResolveUDPAddr("udp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("dtls-bridge: --listen %q is not a UDP address: %w", s.opts.Listen, err)
	}
	plainLocal, err := requireLoopback("--plain-local", s.opts.PlainLocal)
	if err != nil {
		return err
	}
	// udp.ListenConfig gives one net.Conn per remote address. pion's dtls.Listen wraps it with
	// an Accept that runs the whole handshake before returning, so one slow or hostile peer
	// would hold up every other; the bridge accepts raw conns and handshakes each in its own
	// goroutine instead.
	lc := udp.ListenConfig{Backlog: 512, AcceptFilter: isHandshakeDatagram}
	if s.listener, err = lc.Listen("udp", laddr); err != nil {
		return fmt.Errorf("dtls-bridge: cannot listen on %s: %w", s.opts.Listen, err)
	}
	if s.plain, err = net.ListenUDP("udp", plainLocal); err != nil {
		_ = s.listener.Close()
		return fmt.Errorf("dtls-bridge: cannot bind plaintext socket %s: %w", s.opts.PlainLocal, err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.started = time.Now()
	s.events.Emit("listening", Event{"mode": "server", "dtls": s.listener.Addr().String(), "plain": s.plain.LocalAddr().String(), "plainPeer": s.plainPeer.String()})
	s.loops.Add(2)
	go s.acceptLoop()
	go s.plainLoop()
	return nil
}

// Addr is the DTLS listening address; PlainAddr the bridge's plaintext socket.
func (s *Server) Addr() net.Addr      { return s.listener.Addr() }
func (s *Server) PlainAddr() net.Addr { return s.plain.LocalAddr() }

// acceptLoop runs until the listener is closed.
func (s *Server) acceptLoop() {
	defer s.loops.Done()
	for {
		raw, err := s.listener.Accept()
		if err != nil {
			return // closed
		}
		s.mu.Lock()
		full := s.active >= s.opts.MaxPeers
		if !full {
			s.active++
		}
		s.mu.Unlock()
		if full {
			atomic.AddUint64(&s.peersRefused, 1)
			s.log.Logf(LogWarn, "refusing %s: %d peers already (--max-peers)", raw.RemoteAddr(), s.opts.MaxPeers)
			_ = raw.Close()
			continue
		}
		s.conns.Add(1)
		go s.serve(raw, atomic.AddUint32(&s.nextID, 1))
	}
}

// serve handshakes with one peer, then relays its datagrams until the connection ends.
func (s *Server) serve(raw net.Conn, id uint32) {
	defer s.conns.Done()
	defer func() {
		s.mu.Lock()
		s.active--
		s.mu.Unlock()
	}()
	remote := raw.RemoteAddr().String()
	logs := newConnLogs(s.log, fmt.Sprintf("peer %d (%s)", id, remote))
	config := *s.config
	config.LoggerFactory = logs
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.HandshakeTimeout)
	started := time.Now()
	conn, err := dtls.ServerWithContext(ctx, guard(raw, &s.recordsDropped), &config)
	cancel()
	if err != nil {
		_ = raw.Close() // frees the address in the UDP listener for a new attempt
		atomic.AddUint64(&s.handshakesFailed, 1)
		failure := Classify(err, config.PSK != nil, logs.DecryptFailures())
		s.events.Emit("handshake-failed", Event{"peerId": id, "remote": remote, "reason": failure.Reason, "alert": failure.Alert, "error": failure.Error, "durationMs": millis(time.Since(started))})
		return
	}
	peer := &serverPeer{id: id, conn: conn, remote: remote}
	s.mu.Lock()
	if s.ctx.Err() != nil { // shutting down: do not register new peers
		s.mu.Unlock()
		_ = conn.Close()
		return
	}
	s.peers[id] = peer
	s.mu.Unlock()
	atomic.AddUint64(&s.handshakesOK, 1)
	s.events.Emit("handshake", handshakeEvent(id, conn, started, s.store))

	how, detail := pumpDTLS(conn, id, &peer.closing, s.events, &peer.traffic, func(payload []byte) {
		if _, err := s.plain.WriteToUDP(EncodeFrame(id, payload), s.plainPeer); err != nil {
			s.log.Logf(LogWarn, "peer %d: cannot deliver plaintext to %s: %v", id, s.plainPeer, err)
		}
	})
	s.mu.Lock()
	delete(s.peers, id)
	s.mu.Unlock()
	_ = conn.Close()
	s.events.Emit("closed", peer.traffic.fields(Event{"scope": "peer", "peerId": id, "remote": remote, "how": how, "error": detail}))
}

// plainLoop encrypts datagrams from the TypeScript role to the peer named in their header.
func (s *Server) plainLoop() {
	defer s.loops.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, src, err := s.plain.ReadFromUDP(buf)
		if err != nil {
			if s.ctx.Err() == nil {
				s.events.Emit("error", Event{"scope": "plain", "error": "dtls-bridge: plaintext socket failed: " + err.Error()})
			}
			return
		}
		if !src.IP.Equal(s.plainPeer.IP) || src.Port != s.plainPeer.Port {
			// Only the configured TypeScript role may inject plaintext.
			atomic.AddUint64(&s.plainDropped, 1)
			s.log.Logf(LogWarn, "dropping plaintext from %s: only --plain %s may send", src, s.plainPeer)
			continue
		}
		id, payload, err := DecodeFrame(buf[:n])
		if err != nil {
			atomic.AddUint64(&s.plainDropped, 1)
			s.log.Logf(LogWarn, "%v", err)
			continue
		}
		s.mu.Lock()
		peer := s.peers[id]
		s.mu.Unlock()
		if peer == nil {
			atomic.AddUint64(&s.plainDropped, 1)
			s.log.Logf(LogWarn, "dropping plaintext for peer %d: no such established peer", id)
			continue
		}
		if _, err := peer.conn.Write(payload); err != nil {
			s.log.Logf(LogWarn, "peer %d: encrypt/send failed: %v", id, err)
			continue
		}
		peer.traffic.out(len(payload))
	}
}

// ClosePeer ends one peer's connection (close_notify); its "closed" event follows.
func (s *Server) ClosePeer(id uint32) error {
	s.mu.Lock()
	peer := s.peers[id]
	s.mu.Unlock()
	if peer == nil {
		return fmt.Errorf("dtls-bridge: no established peer %d", id)
	}
	atomic.StoreInt32(&peer.closing, 1)
	return peer.conn.Close()
}

// Stats is the body of the "stats" event.
func (s *Server) Stats() Event {
	s.mu.Lock()
	peers := make([]Event, 0, len(s.peers))
	for _, p := range s.peers {
		peers = append(peers, p.traffic.fields(Event{"peerId": p.id, "remote": p.remote}))
	}
	handshaking := s.active - len(s.peers)
	s.mu.Unlock()
	sort.Slice(peers, func(i, j int) bool { return peers[i]["peerId"].(uint32) < peers[j]["peerId"].(uint32) })
	return Event{
		"mode":             "server",
		"peers":            peers,
		"handshaking":      handshaking,
		"handshakesOk":     atomic.LoadUint64(&s.handshakesOK),
		"handshakesFailed": atomic.LoadUint64(&s.handshakesFailed),
		"plainDropped":     atomic.LoadUint64(&s.plainDropped),
		"recordsDropped":   atomic.LoadUint64(&s.recordsDropped),
		"peersRefused":     atomic.LoadUint64(&s.peersRefused),
		"sessionsStored":   s.store.Len(),
		"uptimeMs":         millis(time.Since(s.started)),
	}
}

// Close stops accepting, aborts handshakes, closes every peer (each emits "closed"), then
// emits the bridge's own "closed". Safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.cancel()
		_ = s.listener.Close()
		s.mu.Lock()
		for _, p := range s.peers {
			atomic.StoreInt32(&p.closing, 1)
			go func(c *dtls.Conn) { _ = c.Close() }(p.conn)
		}
		s.mu.Unlock()
		s.conns.Wait()
		_ = s.plain.Close()
		s.loops.Wait()
		s.events.Emit("closed", Event{"scope": "bridge", "mode": "server", "handshakesOk": atomic.LoadUint64(&s.handshakesOK), "handshakesFailed": atomic.LoadUint64(&s.handshakesFailed)})
	})
}
