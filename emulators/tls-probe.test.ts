import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { probeTlsHandshake, probeVersion, suiteOffer, versionOffer } from './tls-probe.ts';
import { chapterCipherSuite } from './tls-server-policy.ts';

test('an unknown protocol version fails with the valid ones', () => {
  assert.throws(() => probeVersion('SSL 3.0'), /unknown protocol version "SSL 3.0"; valid versions: TLS 1.0, TLS 1.1, TLS 1.2, TLS 1.3/);
  assert.equal(probeVersion('TLS 1.1'), 'TLS 1.1');
});

test('a version offer pins both ends to that version; TLS 1.0/1.1 need security level 0 to be sent at all', () => {
  assert.deepEqual(versionOffer('TLS 1.0'), { describe: 'only TLS 1.0', minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' });
  assert.deepEqual(versionOffer('TLS 1.3'), { describe: 'only TLS 1.3', minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: 'DEFAULT' });
});

test('a suite offer names one suite at the only version it exists in', () => {
  const o = suiteOffer(chapterCipherSuite('TLS_RSA_AES_128_CBC_SHA'));
  assert.deepEqual([o.minVersion, o.maxVersion, o.ciphers], ['TLSv1.2', 'TLSv1.2', 'AES128-SHA']);
});

test('a server that accepts TCP and never answers is a failed probe after the timeout, said so', async () => {
  const sockets: import('node:net').Socket[] = [];
  const server = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    const r = await probeTlsHandshake(
      { host: '127.0.0.1', port: (server.address() as AddressInfo).port, serverName: 'x', caPem: '', certChainPem: '', keyPem: '', timeoutMs: 200 },
      versionOffer('TLS 1.3'),
    );
    assert.equal(r.completed, false);
    assert.match(r.error ?? '', /no handshake result .* within 200 ms \(server hangs\)/);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
});

test('a refused connection is a failed probe with the error', async () => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  const r = await probeTlsHandshake({ host: '127.0.0.1', port, serverName: 'x', caPem: '', certChainPem: '', keyPem: '', timeoutMs: 2_000 }, versionOffer('TLS 1.2'));
  assert.equal(r.completed, false);
  assert.match(r.error ?? '', /ECONNREFUSED/);
});
