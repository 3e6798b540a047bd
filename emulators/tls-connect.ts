/**
 * Open a TLS client connection over a TCP socket with Nagle disabled.
 *
 * MQTT packets are small; with Nagle on, a CONNECT or PUBLISH waits for the peer's delayed ACK
 * (~40 ms on Linux) — the penalty docs/architecture.md §5 Transports warns about. node:tls has no noDelay option of
 * its own, so we make the TCP socket ourselves and hand it to tls.connect.
 */
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, createSecureContext, type ConnectionOptions, type TLSSocket } from 'node:tls';

export function connectTls(host: string, port: number, options: ConnectionOptions): TLSSocket {
  const tcp = netConnect({ host, port, noDelay: true });
  const tls = tlsConnect({ ...options, socket: tcp });
  // Errors before the TLS layer takes over (ECONNREFUSED…) must reach the TLS socket's listeners.
  tcp.once('error', (err) => {
    if (!tls.destroyed) tls.destroy(err);
  });
  return tls;
}

/**
 * The same client options with their context-level part (trust anchors, own chain and key, CRLs,
 * versions, ciphers) loaded once into a SecureContext, so that reconnects reuse it instead of
 * parsing the PEM again (tls.connect builds a context from these options on every call unless it
 * is given one). The per-connection part (server name, rejectUnauthorized, checkServerIdentity,
 * session) still applies on every connect: the same checks, made on every handshake.
 */
export function withSecureContext(options: ConnectionOptions): ConnectionOptions {
  return { ...options, secureContext: createSecureContext(options) };
}
