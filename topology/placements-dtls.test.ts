/**
 * What the containers placement says about the DTLS graphs: the reporting paths (DTLS-stripping
 * gateway, PSK attacker, a lossy device link) are realized; the DTLS interception matrix and the
 * certificate DTLS endpoint (DTLS resumption, the independent openssl peer) are skipped, each
 * with its own reason.
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

test('containers still skip the DTLS MITM matrix and the certificate DTLS endpoint, saying which', () => {
  assert.match(containersPlacement.cannotRealize(interception({ forgedCase: 'self-signed', client: 'secure', transport: 'dtls' })) ?? '', /DTLS interception matrix/);
  assert.match(containersPlacement.cannotRealize(independentDtlsPeer()) ?? '', /certificate endpoint of DTLS resumption and of the independent openssl peer/);
  assert.match(containersPlacement.cannotRealize(resumption({ broker: 'mosquitto', transport: 'dtls', rttMs: 50 })) ?? '', /certificate endpoint of DTLS resumption/);
});
