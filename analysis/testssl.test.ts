/** testssl.sh's --jsonfile output read into the protocol verdicts the policy scenarios compare. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTestsslJson, protocolsOf } from './testssl.ts';

// Abridged from a real run against the legacy Aedes broker (testssl 3.0.8, `-p --jsonfile`).
const LEGACY = `[
  { "id": "service", "ip": "127.0.0.1/127.0.0.1", "port": "41905", "severity": "DEBUG", "finding": "Couldn't determine service, skipping all HTTP checks" },
  { "id": "SSLv2", "ip": "127.0.0.1/127.0.0.1", "port": "41905", "severity": "OK", "finding": "not offered" },
  { "id": "SSLv3", "ip": "127.0.0.1/127.0.0.1", "port": "41905", "severity": "OK", "finding": "not offered" },
  { "id": "TLS1", "ip": "127.0.0.1/127.0.0.1", "port": "41905", "severity": "LOW", "finding": "offered (deprecated)" },
  { "id": "TLS1_1", "ip": "127.0.0.1/127.0.0.1", "port": "41905", "severity": "LOW", "finding": "offered (deprecated)" },
  { "id": "TLS1_2", "ip": "127.0.0.1/127.0.0.1", "port": "41905", "severity": "OK", "finding": "offered" },
  { "id": "TLS1_3", "ip": "127.0.0.1/127.0.0.1", "port": "41905", "severity": "OK", "finding": "offered with final" }
]`;

test('offered and not offered protocols, deprecated ones included', () => {
  assert.deepEqual(protocolsOf(parseTestsslJson(LEGACY)), { SSLv2: false, SSLv3: false, TLS1: true, TLS1_1: true, TLS1_2: true, TLS1_3: true });
});

test('a protocol testssl did not judge stays absent; output that is not its JSON array is refused', () => {
  assert.deepEqual(protocolsOf([{ id: 'TLS1_3', severity: 'WARN', finding: 'check failed' }]), {});
  assert.throws(() => parseTestsslJson('{"id":"x"}'), /not a JSON array/);
});
