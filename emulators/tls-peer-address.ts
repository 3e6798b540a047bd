/**
 * The TCP peer of each connection to a node:tls server, taken when the connection arrives.
 *
 * A server's `tlsClientError` record should name who was refused, but by then the socket may be
 * gone: when node:tls rejects a client certificate it checks the chain in JavaScript after
 * OpenSSL's handshake and destroys the socket ("socket hang up"), and a destroyed socket's
 * remoteAddress and remotePort are undefined ("undefined:undefined" in the broker's log). At the
 * TCP `connection` event, before any TLS, the peer is still known; it is kept per raw socket.
 */
import type { Socket } from 'node:net';
import type { Server, TLSSocket } from 'node:tls';

/** host:port, IPv6 in brackets (RFC 3986 §3.2.2), as the broker's log names a peer. */
export function peerText(address: string, port: number): string {
  return `${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/** What the record says when the peer never was known (a socket gone before `connection` ran). */
export const UNKNOWN_PEER = 'an unknown peer';

/**
 * Remember each connection's peer from now on; the returned function names the peer of one of
 * the server's TLS sockets, even after that socket was destroyed.
 */
export function rememberTlsPeers(server: Server): (socket: TLSSocket) => string {
  const byRawSocket = new WeakMap<Socket, string>();
  server.on('connection', (raw: Socket) => {
    if (raw.remoteAddress !== undefined && raw.remotePort !== undefined) byRawSocket.set(raw, peerText(raw.remoteAddress, raw.remotePort));
  });
  return (socket) => {
    // node:tls keeps the TCP socket it wraps as `_parent` (lib/_tls_wrap.js); @types/node does not declare it.
    const raw = (socket as TLSSocket & { _parent?: Socket })._parent;
    const remembered = raw === undefined ? undefined : byRawSocket.get(raw);
    if (remembered !== undefined) return remembered;
    return socket.remoteAddress !== undefined && socket.remotePort !== undefined ? peerText(socket.remoteAddress, socket.remotePort) : UNKNOWN_PEER;
  };
}
