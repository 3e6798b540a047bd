import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import mqttPacket from 'mqtt-packet';
import { generatePki } from '../certs/pki.ts';
import { forgeCertificate } from '../certs/forged-catalogue.ts';
import { MitmProxy, keyBelongsToCertificate } from './mitm-proxy.ts';
import { harvestCredentials, presentForgedCertificate } from './mitm-attacks.ts';

const pkiPromise = generatePki({ wearableIds: ['wearable-0001'] });

async function proxyWith(caseName: string) {
  const pki = await pkiPromise;
  const forged = await forgeCertificate(caseName, { pki, serverName: 'cloud.testbed.local' });
  const proxy = new MitmProxy({ listen: { host: '127.0.0.1', port: 0 }, attacks: [presentForgedCertificate(forged.name, forged.explain, { certChainPem: forged.certChainPem, keyPem: forged.keyPem }), harvestCredentials()], handshakeTimeoutMs: 3000 });
  return { pki, proxy, endpoint: await proxy.start() };
}

function victim(endpoint: { host: string; port: number }, ca: string, verify: boolean): Promise<'refused' | 'connected'> {
  return new Promise((resolve) => {
    const s = connect({ ...endpoint, ca, servername: 'cloud.testbed.local', rejectUnauthorized: verify, minVersion: 'TLSv1.3' });
    s.on('error', () => resolve('refused'));
    s.once('secureConnect', () => {
      s.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'victim-1', username: 'victim-1', password: Buffer.from('s3cret-password'), clean: true, keepalive: 30 }));
      s.once('data', () => {
        s.end();
        resolve('connected');
      });
    });
  });
}

test('a verifying victim refuses the self-signed forgery: the proxy records the failure and no plaintext', async () => {
  const { pki, proxy, endpoint } = await proxyWith('self-signed');
  try {
    assert.equal(await victim(endpoint, pki.rootCa.certPem, true), 'refused');
    await proxy.log.waitFor('handshake-failed', (o) => o.kind === 'handshake-failed', 3000);
    assert.equal(proxy.plaintextBytes(), 0);
    assert.equal(proxy.log.ofKind('client-hello').length, 1, 'the ClientHello is seen in clear either way');
  } finally {
    await proxy.stop();
  }
});

test('a non-verifying victim is intercepted: the proxy answers as the broker and harvests the CONNECT', async () => {
  const { pki, proxy, endpoint } = await proxyWith('self-signed');
  try {
    assert.equal(await victim(endpoint, pki.rootCa.certPem, false), 'connected');
    const harvest = await proxy.log.waitFor('harvest', (o) => o.kind === 'attack' && o.detail.password !== undefined, 3000);
    assert.equal(harvest.detail.password, 's3cret-password');
    assert.ok(proxy.plaintextBytes() > 0);
  } finally {
    await proxy.stop();
  }
});

test('replaced-key is detected as a key that does not belong to its certificate', async () => {
  const pki = await pkiPromise;
  const forged = await forgeCertificate('replaced-key', { pki, serverName: 'cloud.testbed.local' });
  assert.equal(keyBelongsToCertificate({ certChainPem: forged.certChainPem, keyPem: forged.keyPem }), false);
  assert.equal(keyBelongsToCertificate({ certChainPem: pki.cloud.certPem, keyPem: pki.cloud.keyPem }), true);
});

test('a proxy needs exactly one attack that supplies its certificate', () => {
  assert.throws(() => new MitmProxy({ listen: { host: '127.0.0.1', port: 0 }, attacks: [harvestCredentials()] }), /exactly one attack must supply the certificate/);
});
