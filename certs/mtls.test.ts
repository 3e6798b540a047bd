// The generated PKI in a real mutual-TLS handshake over loopback, node:tls on both sides: what
// the cloud broker and the wearables will do with it.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { generatePki, type IssuedCertificate, type KeyAlgorithm, type Pki } from './pki.ts';

interface HandshakeResult {
  clientAuthorized: boolean;
  clientAuthorizationError: string | null;
  /** What the client received from the server after the handshake ("" when the server refused it). */
  received: string;
  clientError: string | null;
  serverPeerCn: string | null;
  serverError: string | null;
}

const GREETING = 'hello ';

/**
 * Cloud-side server with the cloud chain, requiring a client certificate from `serverPki`'s
 * CA; the client presents `client` and checks the server against `serverPki`'s root with the
 * name cloud.testbed.local. The server greets an authorized client with its CN.
 */
async function mtlsHandshake(serverPki: Pki, client: IssuedCertificate): Promise<HandshakeResult> {
  const result: HandshakeResult = {
    clientAuthorized: false,
    clientAuthorizationError: null,
    received: '',
    clientError: null,
    serverPeerCn: null,
    serverError: null,
  };
  const server = createServer({
    cert: serverPki.cloud.chainPem,
    key: serverPki.cloud.keyPem,
    ca: serverPki.rootCa.certPem,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    const cn = socket.getPeerCertificate().subject?.CN;
    result.serverPeerCn = typeof cn === 'string' ? cn : null;
    socket.end(GREETING + (result.serverPeerCn ?? '?'));
  });
  server.on('tlsClientError', (error, socket) => {
    // node:tls destroys a rejected client's socket ("socket hang up"); the reason is kept on it.
    const reason = (socket as TLSSocket & { authorizationError?: unknown }).authorizationError;
    result.serverError = typeof reason === 'string' ? reason : error.message;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'cloud.testbed.local',
      ca: serverPki.rootCa.certPem,
      cert: client.chainPem,
      key: client.keyPem,
      minVersion: 'TLSv1.3',
    });
    socket.setEncoding('utf8');
    socket.on('secureConnect', () => {
      result.clientAuthorized = socket.authorized;
      result.clientAuthorizationError = socket.authorizationError?.message ?? null;
    });
    socket.on('data', (chunk: string) => {
      result.received += chunk;
    });
    socket.on('error', (error) => {
      result.clientError = error.message;
    });
    // Not events.once(): it rejects on 'error', and a refused handshake is an expected outcome here.
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
  } finally {
    server.close();
  }
  return result;
}

function wearable(pki: Pki, deviceId: string): IssuedCertificate {
  const issued = pki.wearables.get(deviceId);
  assert.ok(issued, `${deviceId} in the PKI`);
  return issued;
}

for (const algorithm of ['ecdsa-p256', 'rsa-2048'] as KeyAlgorithm[]) {
  describe(`mTLS on 127.0.0.1 with the generated PKI (${algorithm})`, { timeout: 60_000 }, () => {
    let pki: Pki;
    let otherPki: Pki;
    before(async () => {
      pki = await generatePki({ wearableIds: ['wearable-0001', 'wearable-0002'], algorithm });
      otherPki = await generatePki({ wearableIds: ['wearable-0001'], algorithm });
    });

    it('authorizes both ways, and the server sees the device id as the peer CN', async () => {
      for (const deviceId of ['wearable-0001', 'wearable-0002']) {
        const result = await mtlsHandshake(pki, wearable(pki, deviceId));
        assert.equal(result.clientAuthorizationError, null);
        assert.equal(result.clientAuthorized, true, 'client accepted the cloud certificate');
        assert.equal(result.serverError, null);
        assert.equal(result.serverPeerCn, deviceId);
        assert.equal(result.received, GREETING + deviceId);
      }
    });

    it('refuses a client whose certificate comes from another generated PKI (same CN, other CA)', async () => {
      const result = await mtlsHandshake(pki, wearable(otherPki, 'wearable-0001'));
      assert.equal(result.serverPeerCn, null, 'no authorized connection on the server');
      assert.equal(result.received, '');
      assert.equal(result.serverError, 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'refused for its certificate chain');
    });

    it('is refused by the client when the server is not from the PKI the client trusts', async () => {
      // The client trusts `pki` but the server presents `otherPki`'s cloud certificate.
      const impostor: Pki = { ...otherPki, rootCa: pki.rootCa };
      const result = await mtlsHandshake(impostor, wearable(pki, 'wearable-0001'));
      assert.equal(result.clientAuthorized, false);
      assert.equal(result.serverPeerCn, null);
      assert.match(result.clientError ?? '', /certificate|issuer/i);
    });
  });
}
