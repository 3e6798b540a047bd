import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContainersResumptionRig } from './containers-resumption.ts';
import { CloudBrokerContainer } from '../containers/cloud-broker-container.ts';

const spec = { dir: '/tmp/unused', rttMs: 50, tlsVersion: 'TLS 1.3' as const };

test('a broker TLS option Mosquitto cannot be given is refused before anything starts, by name', () => {
  assert.throws(() => new ContainersResumptionRig({ ...spec, brokerTls: { sessionTimeout: 5 } }), /sessionTimeout have no Mosquitto\/OpenSSL equivalent/);
  assert.doesNotThrow(() => new ContainersResumptionRig({ ...spec, brokerTls: { noDelay: false, ecdhCurve: 'P-256' } }));
});

test('a gateway stands in front of a delaying link; with no link it is refused with what to change', () => {
  assert.doesNotThrow(() => new ContainersResumptionRig({ ...spec, viaGateway: true }));
  assert.throws(() => new ContainersResumptionRig({ ...spec, rttMs: 0, viaGateway: true }), /give the link a delay/);
});

test('Mosquitto leaves Nagle on only when asked', () => {
  assert.match(new CloudBrokerContainer('unused').configuration(), /^set_tcp_nodelay true$/m);
  assert.match(new CloudBrokerContainer('unused').withTcpNoDelay(false).configuration(), /^set_tcp_nodelay false$/m);
});

test('OpenSSL settings are SSL_CONF command names and plain values', () => {
  assert.doesNotThrow(() => new CloudBrokerContainer('unused').withOpenSslSettings({ Groups: 'P-256', Options: '-SessionTicket' }));
  assert.throws(() => new CloudBrokerContainer('unused').withOpenSslSettings({ Groups: 'P-256\n[evil]' }), /not an SSL_CONF command and value/);
});
