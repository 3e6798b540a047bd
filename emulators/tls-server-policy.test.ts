import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, getCiphers, type Server } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { generatePki } from '../certs/pki.ts';
import { CIPHER_SUITE_NAMES } from '../analysis/tls-client-hello.ts';
import {
  CHAPTER_CIPHER_SUITES,
  chapterCipherSuite,
  defaultPolicy,
  isCbcSuite,
  isRsaKeyTransportSuite,
  issueRsaServerCertificate,
  legacyPolicy,
  serverPolicy,
  tls13OnlyPolicy,
  tlsServerOptions,
  type TlsServerPolicy,
} from './tls-server-policy.ts';
import { probeTlsHandshake, suiteOffer, versionOffer } from './tls-probe.ts';

test('an unknown policy name fails with the valid names', () => {
  assert.throws(() => serverPolicy('strict'), /unknown broker policy "strict"; valid policies: default, tls13-only, legacy/);
  assert.equal(serverPolicy('tls13-only'), tls13OnlyPolicy);
});

test('the chapter table is found by the chapter\'s name and by the IANA name; anything else lists the table', () => {
  assert.equal(chapterCipherSuite('TLS_RSA_AES_128_CBC_SHA').ianaName, 'TLS_RSA_WITH_AES_128_CBC_SHA');
  assert.equal(chapterCipherSuite('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256').chapterName, 'TLS_ECDHE_RSA_AES_128_GCM_SHA256');
  assert.throws(() => chapterCipherSuite('TLS_RSA_WITH_RC4_128_MD5'), /not in the source chapter's cipher-suite table.*valid suites: TLS_ECDHE_ECDSA_AES_128_GCM_SHA256, .*TLS_RSA_AES_128_CBC_SHA/);
});

test('every chapter suite is one the ClientHello analyser can name and the local OpenSSL knows', () => {
  const known = new Set(getCiphers());
  const named = new Set(Object.values(CIPHER_SUITE_NAMES));
  assert.equal(CHAPTER_CIPHER_SUITES.length, 5);
  for (const s of CHAPTER_CIPHER_SUITES) {
    assert.ok(named.has(s.ianaName), `${s.ianaName} is not in CIPHER_SUITE_NAMES`);
    assert.ok(known.has(s.opensslName.toLowerCase()), `OpenSSL does not know ${s.opensslName}`);
  }
});

test('CBC and RSA key transport are told apart from ECDHE and AEAD by IANA name', () => {
  assert.equal(isCbcSuite('TLS_RSA_WITH_AES_128_CBC_SHA'), true);
  assert.equal(isCbcSuite('TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA'), true);
  assert.equal(isCbcSuite('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'), false);
  assert.equal(isRsaKeyTransportSuite('TLS_RSA_WITH_AES_128_GCM_SHA256'), true);
  assert.equal(isRsaKeyTransportSuite('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'), false);
  assert.equal(isRsaKeyTransportSuite('TLS_AES_128_GCM_SHA256'), false);
});

test('a broker needs at least one certificate', () => {
  assert.throws(() => tlsServerOptions(defaultPolicy, []), /at least one server certificate/);
});

async function serve(policy: TlsServerPolicy, certs: Parameters<typeof tlsServerOptions>[1]): Promise<{ server: Server; port: number }> {
  const server = createServer(tlsServerOptions(policy, certs), (s) => s.end());
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as AddressInfo).port };
}

test('the legacy suite and TLS 1.1: refused by default and tls13-only, accepted by legacy (secure vs insecure, real handshakes)', async () => {
  const pki = await generatePki({ wearableIds: ['wearable-0001'] });
  const rsa = await issueRsaServerCertificate(pki);
  const certs = [{ chainPem: pki.cloud.chainPem, keyPem: pki.cloud.keyPem }, rsa];
  const device = pki.wearables.get('wearable-0001');
  assert.ok(device);
  const legacySuite = chapterCipherSuite('TLS_RSA_AES_128_CBC_SHA');
  const outcome: Record<string, [boolean, boolean, boolean]> = {};
  for (const policy of [defaultPolicy, tls13OnlyPolicy, legacyPolicy]) {
    const { server, port } = await serve(policy, certs);
    try {
      const target = { host: '127.0.0.1', port, serverName: 'cloud.testbed.local', caPem: pki.rootCa.certPem, certChainPem: device.chainPem, keyPem: device.keyPem, timeoutMs: 5_000 };
      const suite = await probeTlsHandshake(target, suiteOffer(legacySuite));
      const v11 = await probeTlsHandshake(target, versionOffer('TLS 1.1'));
      const ecdheRsa = await probeTlsHandshake(target, suiteOffer(chapterCipherSuite('TLS_ECDHE_RSA_AES_128_GCM_SHA256')));
      outcome[policy.name] = [suite.completed, v11.completed, ecdheRsa.completed];
      if (suite.completed) assert.equal(suite.cipher, 'TLS_RSA_WITH_AES_128_CBC_SHA');
      else assert.match(suite.error ?? '', /alert/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  }
  assert.deepEqual(outcome, { default: [false, false, true], 'tls13-only': [false, false, false], legacy: [true, true, true] });
});

test('the RSA certificate chains to the run\'s root and serves the cloud\'s name', async () => {
  const pki = await generatePki({ wearableIds: [] });
  const { chainPem } = await issueRsaServerCertificate(pki);
  const { X509Certificate } = await import('node:crypto');
  const leaf = new X509Certificate(chainPem);
  assert.equal(leaf.publicKey.asymmetricKeyType, 'rsa');
  assert.ok(leaf.checkHost('cloud.testbed.local'));
  assert.ok(leaf.verify(new X509Certificate(pki.intermediateCa.certPem).publicKey));
});
