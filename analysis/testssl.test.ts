/** testssl.sh's --jsonfile output read into the protocol verdicts the policy scenarios compare. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { categoriesOf, parseTestsslJson, protocolsOf, untestedLocally } from './testssl.ts';

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

// From a real run against the legacy Aedes broker of `testbed up --policy legacy` (testssl 3.0.8, `-s --jsonfile`).
const LEGACY_CATEGORIES = `[
  { "id": "service", "severity": "INFO", "finding": "certificate-based authentication => skipping all HTTP checks" },
  { "id": "pre_128cipher", "severity": "INFO", "finding": "No 128 cipher limit bug" },
  { "id": "cipherlist_NULL", "severity": "OK", "finding": "not offered" },
  { "id": "cipherlist_aNULL", "severity": "OK", "finding": "not offered" },
  { "id": "cipherlist_EXPORT", "severity": "OK", "finding": "not offered" },
  { "id": "cipherlist_LOW", "severity": "OK", "finding": "not offered" },
  { "id": "cipherlist_3DES_IDEA", "severity": "INFO", "finding": "not offered" },
  { "id": "cipherlist_AVERAGE", "severity": "LOW", "finding": "offered" },
  { "id": "cipherlist_STRONG", "severity": "OK", "finding": "offered" },
  { "id": "scanTime", "severity": "INFO", "finding": "155" }
]`;

test('cipher categories: the legacy broker offers the obsoleted CBC suites (AVERAGE) beside the AEAD ones (STRONG)', () => {
  assert.deepEqual(categoriesOf(parseTestsslJson(LEGACY_CATEGORIES)), { NULL: false, aNULL: false, EXPORT: false, LOW: false, '3DES_IDEA': false, AVERAGE: true, STRONG: true });
  assert.deepEqual(protocolsOf(parseTestsslJson(LEGACY_CATEGORIES)), {}, 'no protocol verdicts in a -s run');
});

test('--ssl-native: what the local OpenSSL 3 cannot try is named, not taken for a verdict', () => {
  const findings = parseTestsslJson(`[
    { "id": "SSLv2", "severity": "WARN", "finding": "not tested due to lack of local support" },
    { "id": "TLS1_3", "severity": "OK", "finding": "offered" },
    { "id": "cipherlist_EXPORT", "severity": "WARN", "finding": "Cipher  Export ciphers (w/o ADH+NULL)  (EXPORT:!ADH:!NULL) not supported by local OpenSSL (timeout --preserve-status 5 /usr/bin/openssl)" },
    { "id": "cipherlist_AVERAGE", "severity": "OK", "finding": "not offered" }
  ]`);
  assert.deepEqual(untestedLocally(findings), ['SSLv2', 'cipherlist_EXPORT']);
  assert.deepEqual(protocolsOf(findings), { TLS1_3: true });
  assert.deepEqual(categoriesOf(findings), { AVERAGE: false });
});
