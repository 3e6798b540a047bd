/**
 * TLS session caching for clients and servers, so that a reconnect resumes instead of paying a
 * full handshake (source chapter §17.4 and §17.7: "use session resumption to amortize handshake
 * cost").
 *
 * Client side: MQTT.js builds a fresh TLS socket on every (re)connect and keeps no session, so
 * the role keeps one here. Node hands sessions out through the socket's 'session' event: in
 * TLS 1.3 once per NewSessionTicket, after the handshake (OpenSSL sends two by default,
 * RFC 8446 §4.6.1); in TLS 1.2 once the handshake is done. The latest one is kept and offered
 * back through tls.connect({ session }).
 *
 * Sessions are keyed by server name and never offered to another name: a ticket is bound to the
 * server that issued it (RFC 8446 §4.6.1: "clients MUST only resume if the new SNI value is
 * valid for the server certificate presented in the original session"); offering it elsewhere
 * would also let that other server link the device's connections.
 *
 * Server side: TLS 1.2 session IDs (RFC 5246 §7.4.1.2) need a server-side store; Node keeps
 * none unless the server handles 'newSession' and 'resumeSession'. Session tickets (RFC 5077)
 * need nothing and are Node's default.
 */
import type { Server, TLSSocket } from 'node:tls';

/** Most sessions a cache keeps; the oldest goes first. Bounds memory on a long run. */
const DEFAULT_MAX_ENTRIES = 1000;

export class TlsSessionCache {
  readonly #sessions = new Map<string, Buffer>();
  readonly #maxEntries: number;
  #offered = 0;

  constructor(options: { maxEntries?: number } = {}) {
    const max = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (!Number.isInteger(max) || max < 1 || max > 1_000_000) {
      throw new Error(`tls-session-cache: maxEntries must be an integer in 1..1000000, got ${max}`);
    }
    this.#maxEntries = max;
  }

  /** tls.connect options that offer the session kept for this server name (or nothing). */
  offerFor(serverName: string): { session?: Buffer } {
    const session = this.#sessions.get(serverName);
    if (!session) return {};
    this.#offered += 1;
    return { session };
  }

  /** Keep every session the server hands this socket, under the name the socket asked for. */
  keepFrom(serverName: string, socket: TLSSocket): void {
    socket.on('session', (session: Buffer) => {
      this.#sessions.delete(serverName);
      this.#sessions.set(serverName, session);
      if (this.#sessions.size > this.#maxEntries) this.#sessions.delete(this.#sessions.keys().next().value as string);
    });
  }

  has(serverName: string): boolean {
    return this.#sessions.has(serverName);
  }

  forget(serverName: string): void {
    this.#sessions.delete(serverName);
  }

  /** How many connections were offered a cached session. */
  get offered(): number {
    return this.#offered;
  }
}

/**
 * A server-side TLS 1.2 session-ID store (Node emits 'newSession' and 'resumeSession' only when
 * listeners exist). Pair it with secureOptions SSL_OP_NO_TICKET to make clients use IDs.
 */
export class TlsServerSessionStore {
  readonly #sessions = new Map<string, Buffer>();
  readonly #maxEntries: number;
  #resumed = 0;

  constructor(options: { maxEntries?: number } = {}) {
    this.#maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  }

  attachTo(server: Server): void {
    server.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
      this.#sessions.set(id.toString('hex'), data);
      if (this.#sessions.size > this.#maxEntries) this.#sessions.delete(this.#sessions.keys().next().value as string);
      done();
    });
    server.on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
      const data = this.#sessions.get(id.toString('hex')) ?? null;
      if (data) this.#resumed += 1;
      done(null, data);
    });
  }

  get size(): number {
    return this.#sessions.size;
  }

  get resumed(): number {
    return this.#resumed;
  }
}
