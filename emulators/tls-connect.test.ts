// withSecureContext: the credentials are loaded once and reused, and every check that belongs to
// the connection still runs on every handshake made with the reused context (the server name,
// the profile's chain verdict and hostname check). A cache that kept only the context would let
// a no-verify profile verify and a secure one skip its hostname check.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { generatePki, type Pki } from '../certs/pki.ts';
import { CLOUD_NAME, GATEWAY_NAME } from '../certs/genuine-profiles.ts';
import { connectTls, withSecureContext } from './tls-connect.ts';
import { noVerifyProfile, secureProfile, tlsClientOptions, type TlsClientProfile } from './tls-client-profile.ts';

let pki: Pki;
let server: Server;
let port: number;

before(async () => {
  pki = await generatePki({ wearableIds: ['wearable-0001'] });
  // The genuine cloud certificate: valid for CLOUD_NAME, not for GATEWAY_NAME.
  server = createServer({ cert: pki.cloud.chainPem, key: pki.cloud.keyPem, ca: `${pki.rootCa.certPem}${pki.intermediateCa.certPem}`, requestCert: true }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

function optionsFor(profile: TlsClientProfile, serverName: string) {
  const device = pki.wearables.get('wearable-0001');
  if (!device) throw new Error('no device certificate');
  return withSecureContext(tlsClientOptions(profile, { ca: pki.rootCa.certPem, certChain: device.chainPem, key: device.keyPem, serverName }));
}

/** One handshake; resolves with the verdict the client reached. */
function handshake(options: ReturnType<typeof optionsFor>): Promise<{ ok: true; servername: unknown } | { ok: false; code: string }> {
  return new Promise((resolve) => {
    const s: TLSSocket = connectTls('127.0.0.1', port, options);
    s.once('secureConnect', () => {
      resolve({ ok: true, servername: (s as TLSSocket & { servername?: unknown }).servername });
      s.destroy();
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, code: err.code ?? err.message }));
  });
}

test('the credentials go into a SecureContext and the per-connection options stay', () => {
  const options = optionsFor(secureProfile, CLOUD_NAME);
  assert.ok(options.secureContext, 'withSecureContext gave no secureContext');
  assert.equal(options.servername, CLOUD_NAME);
  assert.equal(options.rejectUnauthorized, true);
  assert.equal(typeof options.checkServerIdentity, 'function', 'the profile\'s hostname check was dropped');
});

test('a reused context still checks the server name on every handshake (secure profile)', async () => {
  const good = optionsFor(secureProfile, CLOUD_NAME);
  for (let i = 0; i < 3; i++) assert.deepEqual(await handshake(good), { ok: true, servername: CLOUD_NAME }, `handshake ${i + 1} with the cloud's own name`);
  const wrongName = optionsFor(secureProfile, GATEWAY_NAME);
  for (let i = 0; i < 2; i++) assert.deepEqual(await handshake(wrongName), { ok: false, code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, `handshake ${i + 1}: the cloud's certificate is not valid for ${GATEWAY_NAME}`);
});

test('a reused context keeps the profile\'s chain verdict (no-verify accepts, secure refuses an unknown CA)', async () => {
  const other = await generatePki({ wearableIds: ['wearable-0001'] });
  const device = pki.wearables.get('wearable-0001');
  if (!device) throw new Error('no device certificate');
  const strangerCa = (profile: TlsClientProfile) => withSecureContext(tlsClientOptions(profile, { ca: other.rootCa.certPem, certChain: device.chainPem, key: device.keyPem, serverName: CLOUD_NAME }));
  assert.equal((await handshake(strangerCa(secureProfile))).ok, false, 'the secure profile accepted a server from a CA it does not trust');
  assert.equal((await handshake(strangerCa(noVerifyProfile))).ok, true, 'the no-verify profile refused: its rejectUnauthorized: false was lost');
});
