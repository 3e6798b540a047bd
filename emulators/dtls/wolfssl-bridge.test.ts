import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dtls13Suite, wolfsslBridgeArgs } from './wolfssl-bridge.ts';
import { parseDtlsVersion } from './dtls-version.ts';

const own = { own: { host: '127.0.0.1', port: 7000 } };

test('DTLS 1.2 suite names map to the TLS 1.3 AEAD of the same cipher; CBC has none', () => {
  assert.equal(dtls13Suite('ECDHE-ECDSA-AES128-GCM-SHA256'), 'TLS13-AES128-GCM-SHA256');
  assert.equal(dtls13Suite('PSK-AES128-CCM8'), 'TLS13-AES128-CCM-8-SHA256');
  assert.equal(dtls13Suite('ECDHE-ECDSA-AES128-CCM'), 'TLS13-AES128-CCM-SHA256');
  assert.equal(dtls13Suite('PSK-AES128-CBC-SHA256'), undefined);
});

test('the wolfSSL command line: dtls-bridge flags without the pion-only ones, then the DTLS 1.3 knobs', () => {
  const args = wolfsslBridgeArgs({ mode: 'server', version: 'dtls1.3', listen: { host: '127.0.0.1', port: 0 }, pskHex: '0011', ciphers: ['PSK-AES128-GCM-SHA256', 'PSK-AES128-CBC-SHA256'], extendedMasterSecret: 'require', mtu: 9000, dtls13: { hrrCookie: false, connectionId: true, earlyData: true, singleUseTickets: false, versions: '1.2-1.3' } }, own);
  assert.deepEqual(args, ['server', '--psk', '0011', '--ciphers', 'TLS13-AES128-GCM-SHA256', '--listen', '127.0.0.1:0', '--plain', '127.0.0.1:7000', '--hrr-cookie', 'off', '--cid', 'on', '--early-data', '--single-use-tickets', 'off', '--versions', '1.2-1.3']);
  assert.ok(wolfsslBridgeArgs({ mode: 'server', listen: { host: '127.0.0.1', port: 0 }, certFile: 'c', keyFile: 'k', uncheckedKeyPair: true }, own).includes('--unchecked-key-pair'));
});

test('a feature\'s "DTLS 1.3" and a profile\'s "dtls1.3" name the same version; anything else says what to write', () => {
  assert.equal(parseDtlsVersion('DTLS 1.3'), 'dtls1.3');
  assert.equal(parseDtlsVersion('dtls1.2'), 'dtls1.2');
  assert.throws(() => parseDtlsVersion('DTLS 1.0'), /say DTLS 1.2 \(pion\) or DTLS 1.3 \(wolfSSL\)/);
});
