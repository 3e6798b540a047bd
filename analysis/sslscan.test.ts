import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { parseSslscanXml, runSslscan } from './sslscan.ts';
import { skipForMissingTool } from '../cli/prerequisites.ts';

// Trimmed from sslscan 2.0.7 --xml=- against the testbed's `legacy` broker.
const LEGACY_XML = `<?xml version="1.0" encoding="UTF-8"?>
<document title="SSLScan Results" version="2.0.7" web="http://github.com/rbsec/sslscan">
 <ssltest host="127.0.0.1" sniname="cloud.testbed.local" port="33955">
  <protocol type="ssl" version="3" enabled="0" />
  <protocol type="tls" version="1.0" enabled="1" />
  <protocol type="tls" version="1.2" enabled="1" />
  <protocol type="tls" version="1.3" enabled="1" />
  <cipher status="preferred" sslversion="TLSv1.3" bits="128" cipher="TLS_AES_128_GCM_SHA256" id="0x1301" strength="acceptable" curve="25519" ecdhebits="253" />
  <cipher status="accepted" sslversion="TLSv1.2" bits="128" cipher="AES128-SHA" id="0x002F" strength="acceptable" />
  <cipher status="accepted" sslversion="TLSv1.0" bits="128" cipher="ECDHE-RSA-AES128-SHA" id="0xC013" strength="acceptable" curve="25519" ecdhebits="253" />
  <cipher status="accepted" sslversion="TLSv1.2" bits="128" cipher="ODD-SUITE" id="0xABCD" strength="weak" />
 </ssltest>
</document>`;

test('parses enabled and disabled protocols with their names', () => {
  const r = parseSslscanXml(LEGACY_XML);
  assert.deepEqual(r.protocols, [
    { version: 'SSLv3', enabled: false },
    { version: 'TLS 1.0', enabled: true },
    { version: 'TLS 1.2', enabled: true },
    { version: 'TLS 1.3', enabled: true },
  ]);
});

test('names accepted suites by their IANA id, not by OpenSSL name; unknown ids stay hex', () => {
  const r = parseSslscanXml(LEGACY_XML);
  assert.deepEqual(
    r.ciphers.map((c) => [c.protocol, c.ianaName, c.opensslName, c.preferred]),
    [
      ['TLSv1.3', 'TLS_AES_128_GCM_SHA256', 'TLS_AES_128_GCM_SHA256', true],
      ['TLSv1.2', 'TLS_RSA_WITH_AES_128_CBC_SHA', 'AES128-SHA', false],
      ['TLSv1.0', 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', 'ECDHE-RSA-AES128-SHA', false],
      ['TLSv1.2', '0xabcd', 'ODD-SUITE', false],
    ],
  );
});

test('output without a scan result is an error that carries what sslscan said', () => {
  const xml = '<document><error><![CDATA[Could not open a connection to host 127.0.0.1 (127.0.0.1) on port 1.]]></error></document>';
  assert.throws(() => parseSslscanXml(xml), /no scan result.*Could not open a connection to host 127\.0\.0\.1 \(127\.0\.0\.1\) on port 1\./);
  assert.throws(() => parseSslscanXml(''), /sslscan: no scan result in its output; run sslscan by hand/);
});

test('a cipher entry without an id is refused rather than misnamed', () => {
  assert.throws(() => parseSslscanXml('<ssltest><cipher status="accepted" sslversion="TLSv1.2" cipher="X" /></ssltest>'), /cipher entry without a hex id/);
});

const hasSslscan = (() => {
  try {
    execFileSync('sslscan', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('runSslscan against a closed port rejects with sslscan\'s own reason', { skip: hasSslscan ? false : skipForMissingTool('sslscan is not installed (apt-get install -y sslscan)') }, async () => {
  await assert.rejects(runSslscan({ host: '127.0.0.1', port: 1, serverName: 'cloud.testbed.local', timeoutMs: 10_000 }), /Could not open a connection/);
});
