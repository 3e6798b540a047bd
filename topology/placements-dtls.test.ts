/**
 * What the containers placement says about the DTLS graphs: the reporting paths (DTLS-stripping
 * gateway, PSK attacker, a lossy device link), the DTLS interception matrix, the independent
 * openssl peer of the certificate DTLS endpoint and DTLS resumption are all realized.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containersPlacement } from './placements.ts';
import { independentDtlsPeer, interception, reporting, resumption } from './recipes.ts';
import { loss } from '../links/impairments.ts';

test('containers realize the DTLS reporting paths, with and without a lossy device link', () => {
  const l = loss({ rate: 0.1 });
  for (const path of ['dtls-stripping-gateway', 'dtls-psk-attacker'] as const) {
    for (const deviceLinkImpairments of [undefined, { clientToServer: [l], serverToClient: [l], seed: 42 }]) {
      const g = reporting({ broker: 'mosquitto', wearables: 1, path, profile: 'secure', malice: [{ name: 'replay', options: { packets: [3] } }], ...(deviceLinkImpairments ? { deviceLinkImpairments } : {}) });
      assert.equal(containersPlacement.cannotRealize(g), undefined, `${path}${deviceLinkImpairments ? ' (lossy)' : ''}`);
    }
  }
});

test('containers realize the DTLS MITM matrix for every client and the independent openssl peer', () => {
  for (const client of ['secure', 'no-verify', 'openssl-dtls-strict']) {
    assert.equal(containersPlacement.cannotRealize(interception({ forgedCase: 'self-signed', client, transport: 'dtls' })), undefined, client);
  }
  assert.equal(containersPlacement.cannotRealize(independentDtlsPeer()), undefined);
});

test('containers realize DTLS resumption, with and without a client certificate (one graph)', () => {
  assert.equal(containersPlacement.cannotRealize(resumption({ broker: 'mosquitto', transport: 'dtls', rttMs: 50 })), undefined);
});
