import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMosquittoLog } from '../containers/cloud-broker-container.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { sharedIdentities } from './shared-identities.ts';

test('Mosquitto: one username held by three client ids at once is reported; a sequential reconnect is not', () => {
  const log = [
    "1800000000: New client connected from 172.20.0.3:40000 as wearable-0001 (p2, c1, k60, u'admin').",
    "1800000000: New client connected from 172.20.0.4:40001 as wearable-0002 (p2, c1, k60, u'admin').",
    "1800000001: New client connected from 172.20.0.9:40002 as wearable-0001-clone (p2, c1, k60, u'admin').",
    '1800000002: Client wearable-0002 disconnected.',
    "1800000003: New client connected from 172.20.0.5:40003 as wearable-0003 (p2, c1, k60, u'wearable-0003').",
    '1800000004: Client wearable-0003 disconnected.',
    "1800000005: New client connected from 172.20.0.5:40004 as wearable-0003 (p2, c1, k60, u'wearable-0003').",
  ].join('\n');
  assert.deepEqual(sharedIdentities(parseMosquittoLog(log)), [{ identity: 'admin', most: 3, clientIds: ['wearable-0001', 'wearable-0001-clone', 'wearable-0002'] }]);
});

test('Aedes records: a certificate identity used by a clone while its device is connected is reported; a refused CONNECT does not count', () => {
  const rec = (kind: string, detail: Record<string, unknown>): Observation => ({ at: 0, role: 'cloud-broker', kind, summary: kind, detail });
  const records = [
    rec('mqtt-connect', { clientId: 'wearable-0001', identity: 'wearable-0001', accepted: true }),
    rec('mqtt-connect', { clientId: 'wearable-0002-clone', accepted: false }),
    rec('mqtt-connect', { clientId: 'wearable-0002-clone', identity: 'wearable-0001', accepted: true }),
  ];
  assert.deepEqual(sharedIdentities(records).map((s) => [s.identity, s.most]), [['wearable-0001', 2]]);
});
