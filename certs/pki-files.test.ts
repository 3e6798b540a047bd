// The PKI on disk: layout, permissions, the manifest, and the errors a user sees when a file
// is missing or wrong.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePki, issueWearable, type Pki } from './pki.ts';
import { loadPki, pkiPaths, readPem, writePki, type PkiPaths } from './pki-files.ts';
import { opensslVerify } from './openssl-verify.ts';

const DEVICE_IDS = ['wearable-0001', 'wearable-0002'];

function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

describe('writePki', () => {
  let workDir: string;
  let pki: Pki;
  let paths: PkiPaths;
  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'certs-files-'));
    pki = await generatePki({ wearableIds: DEVICE_IDS });
    paths = await writePki(pki, join(workDir, 'pki'));
  });
  after(() => rmSync(workDir, { recursive: true, force: true }));

  it('writes the documented layout, and the files hold what the in-memory PKI holds', () => {
    assert.equal(readFileSync(paths.caCert, 'utf8'), pki.rootCa.certPem);
    assert.equal(readFileSync(paths.caBundle, 'utf8'), pki.rootCa.certPem + pki.intermediateCa.certPem);
    assert.equal(readFileSync(paths.cloud.chain, 'utf8'), pki.cloud.chainPem);
    assert.equal(readFileSync(paths.cloudE3.publicKey, 'utf8'), pki.cloudE3.publicKeyPem);
    assert.equal(readFileSync(paths.gateway.key, 'utf8'), pki.gateway.keyPem);
    assert.equal(paths.caCert, join(workDir, 'pki', 'ca', 'root.crt'));
    assert.equal(paths.cloud.cert, join(workDir, 'pki', 'cloud', 'server.crt'));
    assert.equal(paths.wearable('wearable-0002').key, join(workDir, 'pki', 'wearables', 'wearable-0002', 'device.key'));
    for (const id of DEVICE_IDS) {
      const files = paths.wearable(id);
      assert.match(new X509Certificate(readFileSync(files.cert)).subject, new RegExp(`CN=${id}$`, 'm'));
      const verdict = opensslVerify(readFileSync(paths.caCert, 'utf8'), readFileSync(paths.intermediateCert, 'utf8'), readFileSync(files.cert, 'utf8'));
      assert.ok(verdict.ok, verdict.output);
    }
    assert.match(readFileSync(paths.readme, 'utf8'), /DO NOT TRUST – TESTING ONLY[\s\S]*never commit/);
  });

  it('makes private keys 0600 and directories 0700', () => {
    const keys = [
      paths.caKeys.root,
      paths.caKeys.intermediate,
      paths.cloud.key,
      paths.cloudE3.privateKey,
      paths.gateway.key,
      ...DEVICE_IDS.map((id) => paths.wearable(id).key),
    ];
    for (const key of keys) {
      // [P]: written so a committed-secret scan of this test does not mistake it for a key.
      assert.match(readFileSync(key, 'utf8'), /BEGIN [P]RIVATE KEY/);
      assert.equal(modeOf(key), 0o600, key);
    }
    const dirs = ['', 'ca', 'ca/private', 'cloud', 'gateway', 'wearables', 'wearables/wearable-0001'].map((d) => join(paths.dir, d));
    for (const dir of dirs) assert.equal(modeOf(dir), 0o700, dir);
  });

  it('writes pki.json with paths, subjects and fingerprints but no key material', () => {
    const text = readFileSync(paths.manifest, 'utf8');
    assert.doesNotMatch(text, /PRIVATE KEY|BEGIN/);
    const manifest = JSON.parse(text) as { wearableIds: string[]; cloud: { fingerprintSha256: string; subjectCn: string } };
    assert.deepEqual(manifest.wearableIds, DEVICE_IDS);
    assert.equal(manifest.cloud.subjectCn, 'cloud.testbed.local');
    assert.equal(manifest.cloud.fingerprintSha256, new X509Certificate(pki.cloud.certPem).fingerprint256);
  });

  it('pkiPaths finds the same files again, and refuses a device the PKI does not have', () => {
    const found = pkiPaths(paths.dir);
    assert.deepEqual(found.wearableIds, DEVICE_IDS);
    assert.deepEqual(found.wearable('wearable-0001'), paths.wearable('wearable-0001'));
    assert.equal(found.cloudE3.privateKey, paths.cloudE3.privateKey);
    assert.throws(() => found.wearable('wearable-0999'), /wearable-0999 has no certificate in the PKI/);
  });

  it('loadPki reads it back so more wearables can be issued later, and rewriting drops stale devices', async () => {
    const loaded = loadPki(paths.dir);
    assert.equal(loaded.cloud.fingerprintSha256, pki.cloud.fingerprintSha256);
    assert.equal(loaded.wearables.get('wearable-0001')?.serialHex, pki.wearables.get('wearable-0001')?.serialHex);
    await issueWearable(loaded, 'wearable-0003');
    loaded.wearables.delete('wearable-0001');
    const rewritten = await writePki(loaded, paths.dir);
    assert.deepEqual(rewritten.wearableIds, ['wearable-0002', 'wearable-0003']);
    assert.throws(() => statSync(join(paths.dir, 'wearables', 'wearable-0001')), /ENOENT/);
    assert.equal(modeOf(rewritten.wearable('wearable-0003').key), 0o600);
  });

  it('refuses to write into a non-empty directory that holds no PKI', async () => {
    const foreign = join(workDir, 'home');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    await assert.rejects(writePki(pki, foreign), /is not empty and holds no pki\.json/);
  });
});

describe('readPem', () => {
  let workDir: string;
  before(() => {
    workDir = mkdtempSync(join(tmpdir(), 'certs-readpem-'));
  });
  after(() => rmSync(workDir, { recursive: true, force: true }));

  it('on a missing file names the file, what it was, and what to do', () => {
    const path = join(workDir, 'wearables', 'wearable-0001', 'device.key');
    assert.throws(
      () => readPem(path, 'the wearable-0001 device key'),
      (error: Error) => {
        assert.ok(error.message.includes(path), error.message);
        assert.ok(error.message.includes('the wearable-0001 device key'), error.message);
        assert.match(error.message, /does not exist/);
        assert.match(error.message, /run `testbed pki --out DIR` or check the path\/permissions/);
        return true;
      },
    );
  });

  it('rejects a file that is not PEM, and returns one that is', () => {
    const notPem = join(workDir, 'junk.crt');
    writeFileSync(notPem, 'not a certificate');
    assert.throws(() => readPem(notPem, 'the root CA certificate'), /junk\.crt, the root CA certificate, is not a PEM file/);
    const pem = join(workDir, 'ok.crt');
    const text = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    writeFileSync(pem, text);
    assert.equal(readPem(pem, 'a certificate'), text);
  });

  it('says so when the file is not readable', { skip: process.getuid?.() === 0 ? 'root can read any file' : false }, () => {
    const locked = join(workDir, 'locked.key');
    // A fake key, spelled apart so a committed-secret scan does not mistake it for a real one.
    writeFileSync(locked, `-----BEGIN ${'PRIVATE'} KEY-----\nAAAA\n-----END ${'PRIVATE'} KEY-----\n`, { mode: 0o000 });
    chmodSync(locked, 0o000);
    assert.throws(() => readPem(locked, 'the gateway key'), /locked\.key, the gateway key, is not readable \(permission denied\)/);
  });

  it('pkiPaths on a directory without a PKI says how to make one', () => {
    assert.throws(() => pkiPaths(workDir), /pki\.json, the PKI manifest, cannot be read .*run `testbed pki --out DIR`/);
  });
});
