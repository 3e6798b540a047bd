import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { connect, type ConnectionOptions } from 'node:tls';
import { cipherSuiteName, parseClientHello } from './tls-client-hello.ts';

/** The first bytes a real node:tls client sends, captured by a plain TCP server. */
async function realClientHello(options: ConnectionOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = createServer((s) => {
      s.once('data', (b: Buffer) => {
        resolve(b);
        s.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      const c = connect({ host: '127.0.0.1', port, ...options });
      c.on('error', () => undefined);
      setTimeout(() => reject(new Error('no ClientHello within 5 s')), 5000).unref();
    });
  });
}

test('parses a TLS 1.3-only ClientHello: SNI, versions, suites, key share', async () => {
  const bytes = await realClientHello({ servername: 'cloud.testbed.local', minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
  const r = parseClientHello(bytes);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  assert.equal(r.hello.serverName, 'cloud.testbed.local');
  assert.deepEqual(r.hello.versions, [0x0304]);
  assert.ok(r.hello.cipherSuites.includes(0x1301));
  assert.ok(r.hello.cipherSuites.every((s) => s >= 0x1301 && s <= 0x1305 || s === 0x00ff), r.hello.cipherSuites.map(cipherSuiteName).join());
  assert.ok(r.hello.keyShareGroups.length > 0);
});

test('parses a TLS 1.2 ClientHello offering a legacy CBC suite', async () => {
  const bytes = await realClientHello({ servername: 'cloud.testbed.local', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' });
  const r = parseClientHello(bytes);
  assert.ok(r.ok);
  assert.ok(!r.hello.versions.includes(0x0304));
  assert.ok(r.hello.cipherSuites.includes(0x002f), 'TLS_RSA_WITH_AES_128_CBC_SHA offered');
  assert.equal(cipherSuiteName(0x002f), 'TLS_RSA_WITH_AES_128_CBC_SHA');
});

test('reports, never throws, on garbage, truncation and non-handshake records', async () => {
  const real = await realClientHello({ servername: 'x.example' });
  for (const cut of [0, 1, 5, 9, 40, real.length - 1]) {
    const r = parseClientHello(real.subarray(0, cut));
    assert.equal(r.ok, false, `cut at ${cut} parsed`);
  }
  assert.match((parseClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n')) as { reason: string }).reason, /not a TLS handshake|truncated/);
  assert.equal(parseClientHello(Buffer.from([23, 3, 3, 0, 2, 1, 2])).ok, false);
  for (let i = 0; i < 500; i++) parseClientHello(Buffer.from(Array.from({ length: i % 97 }, (_, j) => (i * 31 + j * 7) & 0xff)));
});
