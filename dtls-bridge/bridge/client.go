package bridge

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v2"
)

// ClientOptions configures client mode (flags in cmd/dtls-bridge, documented in README.md).
type ClientOptions struct {
	Common
	Connect            string // the DTLS server, UDP
	Local              string // optional local UDP address for the DTLS side
	Plain              string // the bridge's plaintext socket (loopback); the TS role talks to it
	PlainPeer          string // optional: accept plaintext only from, and deliver only to, this address
	ServerName         string // expected server identity (RFC 6125 check against the certificate)
	InsecureSkipVerify bool   // no-verify profile: accept any server certificate
}

// Client holds one DTLS connection to a server and relays it to the TypeScript role. The
// connection can be re-established ("reconnect") to show session resumption.
type Client struct {
	opts   ClientOptions
	config *dtls.Config
	store  *SessionStore
	events *Emitter
	log    *Logger
	raddr  *net.UDPAddr
	laddr  *net.UDPAddr

	plain     *net.UDPConn
	plainPeer atomic.Value // *net.UDPAddr: fixed by --plain-peer, else the last sender
	started   time.Time

	connMu  sync.Mutex // serialises connect/close; guards current
	current *clientConn
	nextID  uint32

	counters

	conns     sync.WaitGroup
	loops     sync.WaitGroup
	closed    int32
	closeOnce sync.Once
}

type clientConn struct {
	id      uint32
	conn    *dtls.Conn
	closing int32
	done    chan struct{}
	traffic traffic
}

// NewClient validates options and prepares the pion configuration.
func NewClient(opts ClientOptions, events *Emitter, log *Logger) (*Client, error) {
	raddr, peer, err := opts.addresses("client")
	if err != nil {
		return nil, err
	}
	c := &Client{opts: opts, events: events, log: log, raddr: raddr}
	if peer != nil {
		c.plainPeer.Store(peer)
	}
	if opts.Local != "" {
		if c.laddr, err = net.ResolveUDPAddr("udp", opts.Local); err != nil {
			return nil, fmt.Errorf("dtls-bridge: --local %q is not a UDP address: %w", opts.Local, err)
		}
	}
	if c.config, c.store, err = c.opts.baseConfig(); err != nil {
		return nil, err
	}
	if err = opts.verifyServer(c.config); err != nil {
		return nil, err
	}
	if c.config.PSK != nil && len(c.config.PSKIdentityHint) == 0 {
		return nil, fmt.Errorf("dtls-bridge: client PSK mode needs --psk-identity (the identity sent to the server)")
	}
	return c, nil
}

// addresses checks --connect, --plain and --plain-peer (loopback only: plaintext never leaves the
// host) and returns the server's address and the fixed plaintext peer (nil: the last sender).
func (opts ClientOptions) addresses(mode string) (*net.UDPAddr, *net.UDPAddr, error) {
	if opts.Connect == "" || opts.Plain == "" {
		return nil, nil, fmt.Errorf("dtls-bridge: %s mode needs --connect HOST:PORT and --plain 127.0.0.1:PORT", mode)
	}
	raddr, err := net.ResolveUDPAddr("udp", opts.Connect)
	if err != nil {
		return nil, nil, fmt.Errorf("dtls-bridge: --connect %q is not a UDP address: %w", opts.Connect, err)
	}
	if _, err := requireLoopback("--plain", opts.Plain); err != nil {
		return nil, nil, err
	}
	if opts.PlainPeer == "" {
		return raddr, nil, nil
	}
	peer, err := requireLoopback("--plain-peer", opts.PlainPeer)
	if err != nil {
		return nil, nil, err
	}
	return raddr, peer, nil
}

// verifyServer sets how cfg checks the server: its certificate chain and name, nothing for a
// PSK-only client (the PSK authenticates the server), or nothing at all for --insecure-skip-verify.
func (opts ClientOptions) verifyServer(cfg *dtls.Config) error {
	certificateSuites := cfg.PSK == nil || len(cfg.Certificates) > 0
	switch {
	case opts.InsecureSkipVerify:
		cfg.InsecureSkipVerify = true
	case !certificateSuites:
		// PSK only: the PSK authenticates the server (RFC 4279 §2); no certificate to check.
	case opts.CAFile == "":
		return fmt.Errorf("dtls-bridge: client mode verifies the server: give --ca (trust anchors), or --insecure-skip-verify for the no-verify profile")
	case opts.ServerName == "" || net.ParseIP(opts.ServerName) != nil:
		// pion drops an IP literal from ServerName (RFC 6066 §3 forbids it in SNI) and then
		// checks no name at all, so an IP here would silently disable hostname verification.
		return fmt.Errorf("dtls-bridge: --server-name must be the DNS name expected in the server certificate (e.g. cloud.testbed.local), got %q", opts.ServerName)
	default:
		pool, err := loadPool(opts.CAFile)
		if err != nil {
			return err
		}
		cfg.RootCAs = pool
	}
	cfg.ServerName = opts.ServerName
	return nil
}

// Start binds the plaintext socket, emits "listening" and makes the first connection. A failed
// handshake is reported as an event, not an error: the process stays up for "reconnect".
func (c *Client) Start() error {
	plainAddr, _ := requireLoopback("--plain", c.opts.Plain)
	var err error
	if c.plain, err = net.ListenUDP("udp", plainAddr); err != nil {
		return fmt.Errorf("dtls-bridge: cannot bind --plain %s: %w", c.opts.Plain, err)
	}
	c.started = time.Now()
	c.events.Emit("listening", Event{"mode": "client", "plain": c.plain.LocalAddr().String(), "connect": c.raddr.String()})
	c.loops.Add(1)
	go c.plainLoop()
	c.Connect()
	return nil
}

// PlainAddr is the bridge's plaintext socket.
func (c *Client) PlainAddr() net.Addr { return c.plain.LocalAddr() }

// Connect performs one handshake and, on success, relays until the connection ends. It
// reports true on success. Any previous connection is closed first.
func (c *Client) Connect() bool {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	if atomic.LoadInt32(&c.closed) != 0 {
		return false
	}
	c.closeCurrent()
	id := atomic.AddUint32(&c.nextID, 1)
	udpConn, err := net.DialUDP("udp", c.laddr, c.raddr)
	if err != nil {
		atomic.AddUint64(&c.handshakesFailed, 1)
		c.events.Emit("handshake-failed", Event{"peerId": id, "remote": c.raddr.String(), "reason": ReasonOther, "error": "dtls-bridge: cannot open UDP socket: " + err.Error()})
		return false
	}
	logs := newConnLogs(c.log, fmt.Sprintf("connection %d (%s)", id, c.raddr))
	config := *c.config
	config.LoggerFactory = logs
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.HandshakeTimeout)
	started := time.Now()
	conn, err := dtls.ClientWithContext(ctx, guard(udpConn, &c.recordsDropped), &config)
	cancel()
	if err != nil {
		_ = udpConn.Close()
		atomic.AddUint64(&c.handshakesFailed, 1)
		failure := Classify(err, config.PSK != nil, logs.DecryptFailures())
		c.events.Emit("handshake-failed", Event{"peerId": id, "remote": c.raddr.String(), "local": udpConn.LocalAddr().String(), "reason": failure.Reason, "alert": failure.Alert, "error": failure.Error, "durationMs": millis(time.Since(started))})
		return false
	}
	atomic.AddUint64(&c.handshakesOK, 1)
	cc := &clientConn{id: id, conn: conn, done: make(chan struct{})}
	c.current = cc
	c.events.Emit("handshake", handshakeEvent(id, conn, started, c.store))
	c.conns.Add(1)
	go c.relay(cc)
	return true
}

// relay delivers decrypted datagrams to the TypeScript role until the connection ends.
func (c *Client) relay(cc *clientConn) {
	defer c.conns.Done()
	defer close(cc.done)
	how, detail := pumpDTLS(cc.conn, cc.id, &cc.closing, c.events, &cc.traffic, func(payload []byte) {
		peer, _ := c.plainPeer.Load().(*net.UDPAddr)
		if peer == nil {
			atomic.AddUint64(&c.plainDropped, 1)
			c.log.Logf(LogWarn, "dropping a decrypted datagram: the TypeScript role has not sent to %s yet", c.plain.LocalAddr())
			return
		}
		if _, err := c.plain.WriteToUDP(payload, peer); err != nil {
			c.log.Logf(LogWarn, "cannot deliver plaintext to %s: %v", peer, err)
		}
	})
	_ = cc.conn.Close()
	c.events.Emit("closed", cc.traffic.fields(Event{"scope": "peer", "peerId": cc.id, "remote": c.raddr.String(), "how": how, "error": detail}))
}

// closeCurrent closes the current connection (close_notify) and waits for its "closed" event.
// Callers hold connMu.
func (c *Client) closeCurrent() {
	cc := c.current
	if cc == nil {
		return
	}
	c.current = nil
	atomic.StoreInt32(&cc.closing, 1)
	_ = cc.conn.Close()
	<-cc.done
}

// Reconnect closes the connection and handshakes again; with --session-store the second
// handshake resumes the session (RFC 5246 §7.3, abbreviated handshake).
func (c *Client) Reconnect() bool {
	return c.Connect()
}

// plainLoop encrypts datagrams from the TypeScript role onto the current connection.
func (c *Client) plainLoop() {
	defer c.loops.Done()
	readPlain(c.plain, &c.plainPeer, c.opts.PlainPeer != "", &c.counters, &c.closed, c.events, c.log, func(datagram []byte) {
		c.connMu.Lock()
		cc := c.current
		c.connMu.Unlock()
		if cc == nil {
			atomic.AddUint64(&c.plainDropped, 1)
			c.log.Logf(LogWarn, "dropping plaintext: no established DTLS connection")
			return
		}
		if _, err := cc.conn.Write(datagram); err != nil {
			c.log.Logf(LogWarn, "connection %d: encrypt/send failed: %v", cc.id, err)
			return
		}
		cc.traffic.out(len(datagram))
	})
}

// Stats is the body of the "stats" event.
func (c *Client) Stats() Event {
	c.connMu.Lock()
	cc := c.current
	c.connMu.Unlock()
	peers := []Event{}
	if cc != nil {
		peers = append(peers, cc.traffic.fields(Event{"peerId": cc.id, "remote": c.raddr.String()}))
	}
	return c.statsFields(Event{"mode": "client", "peers": peers}, c.store, c.started)
}

// ClosePeer closes the current connection if its id matches.
func (c *Client) ClosePeer(id uint32) error {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	if c.current == nil || c.current.id != id {
		return fmt.Errorf("dtls-bridge: no established connection %d", id)
	}
	c.closeCurrent()
	return nil
}

// Close ends the connection (emitting its "closed"), then emits the bridge's own "closed".
func (c *Client) Close() {
	c.closeOnce.Do(func() {
		c.connMu.Lock()
		atomic.StoreInt32(&c.closed, 1)
		c.closeCurrent()
		c.connMu.Unlock()
		c.conns.Wait()
		_ = c.plain.Close()
		c.loops.Wait()
		c.events.Emit("closed", Event{"scope": "bridge", "mode": "client", "handshakesOk": atomic.LoadUint64(&c.handshakesOK), "handshakesFailed": atomic.LoadUint64(&c.handshakesFailed)})
	})
}
