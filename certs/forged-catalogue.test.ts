// The forged-certificate catalogue, case by case: each certificate is parsed back and checked to
// be broken in exactly the intended way — openssl verify (an implementation independent of the
// @peculiar/x509 code that made it) fails with the case's specific error, and passes once the
// one broken check is switched off; a node:tls client with secure settings refuses it over
// loopback with the case's error code, while a client that does not verify connects.
// Run for an ECDSA P-256 and an RSA 2048 PKI: the two variants of every case.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createSecureContext, createServer, type ConnectionOptions } from 'node:tls';
import { DAY_MS } from './certificate-profile.ts';
import {
  catalogueCrl,
  forgeCatalogue,
  forgeCertificate,
  FORGED_CASE_NAMES,
  OTHER_HOST_NAME,
  revokedSerialHex,
  runCrl,
  UNKNOWN_EXTENSION_OID,
  type ForgedCaseName,
  type ForgedCredential,
  type RevocationList,
} from './forged-catalogue.ts';
import { opensslText, opensslVerifyWith, type OpensslVerifyInput } from './openssl-verify.ts';
import { generatePki, type KeyAlgorithm, type Pki } from './pki.ts';

const SERVER_NAME = 'cloud.testbed.local';
/** What the MITM uses for needsLegacySecurityLevel credentials. */
const LEGACY_SERVER_CIPHERS = 'DEFAULT:@SECLEVEL=0';
/** A client that insists on 112-bit security (RSA ≥ 2048, SHA-256), as Debian's and RHEL's defaults do. */
const SECLEVEL_2_CIPHERS = 'DEFAULT:@SECLEVEL=2';
const FULL_SERVER_CHECK = ['-purpose', 'sslserver', '-verify_hostname', SERVER_NAME];

interface Fixture {
  pki: Pki;
  catalogue: Map<string, ForgedCredential>;
  crl: RevocationList;
  now: Date;
}

function certificatesOf(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

function leafOf(credential: ForgedCredential): X509Certificate {
  return new X509Certificate(certificatesOf(credential.certChainPem)[0] ?? '');
}

/** What a client receives: the leaf, and the rest of the Certificate message as untrusted intermediates. */
function presented(f: Fixture, credential: ForgedCredential, options: string[] = [], more: Partial<OpensslVerifyInput> = {}) {
  const [leafPem = '', ...rest] = certificatesOf(credential.certChainPem);
  return opensslVerifyWith({ trustedPem: f.pki.rootCa.certPem, untrustedPem: rest.join(''), leafPem, options, ...more });
}

function assertFails(verdict: { ok: boolean; output: string }, error: RegExp): void {
  assert.equal(verdict.ok, false, verdict.output);
  assert.match(verdict.output, error);
}

function assertPasses(verdict: { ok: boolean; output: string }): void {
  assert.ok(verdict.ok, verdict.output);
}

/** `openssl crl -text [-CAfile ca]`: OpenSSL's reading of a CRL and, given a CA, of its signature. */
function opensslCrl(crlPemText: string, caPem?: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'forged-crl-'));
  try {
    const crlPath = join(dir, 'crl.pem');
    writeFileSync(crlPath, crlPemText);
    const args = ['crl', '-noout', '-text', '-in', crlPath];
    if (caPem !== undefined) {
      writeFileSync(join(dir, 'ca.crt'), caPem);
      args.push('-CAfile', join(dir, 'ca.crt'));
    }
    const run = spawnSync('openssl', args, { encoding: 'utf8', timeout: 20_000 });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ClientOutcome {
  connected: boolean;
  code: string | null;
  message: string;
}

/** A node:tls server on 127.0.0.1 presenting `credential`, and one client connection to it. */
async function handshake(credential: ForgedCredential, client: ConnectionOptions): Promise<ClientOutcome> {
  const server = createServer(
    { cert: credential.certChainPem, key: credential.keyPem, ...(credential.needsLegacySecurityLevel ? { ciphers: LEGACY_SERVER_CIPHERS } : {}) },
    (socket) => socket.end('application data'),
  );
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise<ClientOutcome>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, servername: SERVER_NAME, ...client });
      // Bounded: a handshake that neither completes nor fails is a failure, never a hang.
      socket.setTimeout(10_000, () => {
        socket.destroy();
        resolve({ connected: false, code: 'TIMEOUT', message: 'no handshake outcome within 10 s' });
      });
      socket.once('secureConnect', () => {
        resolve({ connected: true, code: null, message: '' });
        socket.destroy();
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve({ connected: false, code: error.code ?? null, message: error.message }));
    });
  } finally {
    server.close();
  }
}

/** What a node:tls client reports: an error code (+ message, as node maps some errors to UNSPECIFIED), or a connection. */
type NodeVerdict = { code: string; message?: RegExp } | 'connects';

const CRL_MISSING: NodeVerdict = { code: 'UNABLE_TO_GET_CRL', message: /unable to get certificate CRL/ };
const WEAK_DIGEST: NodeVerdict = { code: 'UNSPECIFIED', message: /CA signature digest algorithm too weak/ };

/**
 * The node:tls secure client (ca = genuine root, servername, default settings) for each case,
 * and the same client given the run's CRLs. With a CRL, node turns on CRL checks for the whole
 * chain and reports the last error, so chains that end outside the genuine CAs show a missing CRL.
 */
const NODE_SECURE: Record<Exclude<ForgedCaseName, 'replaced-key'>, { secure: NodeVerdict; withCrl: NodeVerdict }> = {
  'self-signed': { secure: { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, withCrl: CRL_MISSING },
  'unknown-ca': { secure: { code: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' }, withCrl: CRL_MISSING },
  'wrong-hostname-cn': {
    secure: { code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: /is not cert's CN: attacker\.example/ },
    withCrl: { code: 'ERR_TLS_CERT_ALTNAME_INVALID' },
  },
  'wrong-hostname-san': {
    secure: { code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: /not in the cert's altnames: DNS:attacker\.example/ },
    withCrl: { code: 'ERR_TLS_CERT_ALTNAME_INVALID' },
  },
  expired: { secure: { code: 'CERT_HAS_EXPIRED' }, withCrl: { code: 'CERT_HAS_EXPIRED' } },
  'not-yet-valid': { secure: { code: 'CERT_NOT_YET_VALID' }, withCrl: { code: 'CERT_NOT_YET_VALID' } },
  'expired-intermediate': { secure: { code: 'CERT_HAS_EXPIRED' }, withCrl: { code: 'CERT_HAS_EXPIRED' } },
  'ca-false-intermediate': {
    secure: { code: 'UNSPECIFIED', message: /key usage does not include certificate signing/ },
    withCrl: { code: 'UNSPECIFIED', message: /key usage does not include certificate signing/ },
  },
  'no-basic-constraints-intermediate': { secure: { code: 'INVALID_CA' }, withCrl: CRL_MISSING },
  'bad-signature': { secure: { code: 'CERT_SIGNATURE_FAILURE' }, withCrl: { code: 'CERT_SIGNATURE_FAILURE' } },
  'wrong-eku': { secure: { code: 'INVALID_PURPOSE' }, withCrl: { code: 'INVALID_PURPOSE' } },
  'sha1-signature': { secure: WEAK_DIGEST, withCrl: WEAK_DIGEST },
  'md5-signature': { secure: WEAK_DIGEST, withCrl: WEAK_DIGEST },
  // Node's bundled OpenSSL defaults to SECLEVEL 1 (80 bits), which a 1024-bit RSA key meets.
  'rsa-1024': { secure: 'connects', withCrl: 'connects' },
  'unknown-critical-extension': {
    secure: { code: 'UNSPECIFIED', message: /unhandled critical extension/ },
    withCrl: { code: 'UNSPECIFIED', message: /unhandled critical extension/ },
  },
  'real-cert-other-name': {
    secure: { code: 'ERR_TLS_CERT_ALTNAME_INVALID', message: /not in the cert's altnames: DNS:gateway\.testbed\.local/ },
    withCrl: { code: 'ERR_TLS_CERT_ALTNAME_INVALID' },
  },
  revoked: { secure: 'connects', withCrl: { code: 'CERT_REVOKED' } },
};

function assertVerdict(outcome: ClientOutcome, expected: NodeVerdict, what: string): void {
  if (expected === 'connects') {
    assert.ok(outcome.connected, `${what}: expected the client to connect, got ${outcome.code}: ${outcome.message}`);
    return;
  }
  assert.equal(outcome.connected, false, `${what}: the client connected`);
  assert.equal(outcome.code, expected.code, `${what}: ${outcome.message}`);
  if (expected.message) assert.match(outcome.message, expected.message, what);
}

for (const algorithm of ['ecdsa-p256', 'rsa-2048'] as const satisfies readonly KeyAlgorithm[]) {
  describe(`forged-certificate catalogue, ${algorithm} PKI`, () => {
    const f = {} as Fixture;
    const forged = (name: ForgedCaseName): ForgedCredential => {
      const credential = f.catalogue.get(name);
      assert.ok(credential, `${name} is in the catalogue`);
      return credential;
    };

    before(async () => {
      f.now = new Date();
      f.pki = await generatePki({ wearableIds: [], algorithm, now: f.now });
      const ctx = { pki: f.pki, serverName: SERVER_NAME, now: f.now };
      [f.catalogue, f.crl] = await Promise.all([forgeCatalogue(ctx), catalogueCrl(ctx)]);
    });

    it('forges every case, in catalogue order, with a sentence, a chain, and a key of the stated algorithm', () => {
      assert.deepEqual([...f.catalogue.keys()], [...FORGED_CASE_NAMES]);
      assert.ok(FORGED_CASE_NAMES.length >= 17);
      for (const [name, credential] of f.catalogue) {
        assert.equal(credential.name, name);
        assert.ok(credential.explain.length > 20 && !credential.explain.includes('\n'), name);
        assert.ok(certificatesOf(credential.certChainPem).length >= 1, name);
        const key = createPrivateKey(credential.keyPem);
        const expected = credential.keyAlgorithm === 'ecdsa-p256' ? ['ec', undefined] : ['rsa', Number(credential.keyAlgorithm.slice(4))];
        assert.deepEqual([key.asymmetricKeyType, key.asymmetricKeyDetails?.modulusLength], expected, name);
        // Every credential but replaced-key holds the key of the certificate it presents.
        assert.equal(leafOf(credential).checkPrivateKey(key), name !== 'replaced-key', name);
      }
    });

    it('self-signed: openssl finds it self-signed; trusting it as its own anchor, everything else verifies', () => {
      const credential = forged('self-signed');
      const leaf = leafOf(credential);
      assert.equal(leaf.issuer, leaf.subject);
      assert.equal(certificatesOf(credential.certChainPem).length, 1);
      assertFails(presented(f, credential, FULL_SERVER_CHECK), /error 18 at 0 depth lookup: self-signed certificate/);
      assertPasses(opensslVerifyWith({ trustedPem: credential.certChainPem, leafPem: credential.certChainPem, options: FULL_SERVER_CHECK }));
    });

    it('unknown-ca: same CA names as the genuine chain, but no path to the genuine root; consistent under its own CA', () => {
      const credential = forged('unknown-ca');
      const [leafPem = '', attackerIntermediatePem = ''] = certificatesOf(credential.certChainPem);
      const attackerIntermediate = new X509Certificate(attackerIntermediatePem);
      const genuineIntermediate = new X509Certificate(f.pki.intermediateCa.certPem);
      assert.equal(attackerIntermediate.subject, genuineIntermediate.subject);
      assert.equal(attackerIntermediate.issuer, genuineIntermediate.issuer);
      assert.notEqual(attackerIntermediate.fingerprint256, genuineIntermediate.fingerprint256);
      assertFails(presented(f, credential, FULL_SERVER_CHECK), /error 20 at 1 depth lookup: unable to get local issuer certificate/);
      // Even with the genuine intermediate on offer, the AKI steers openssl away from it.
      assertFails(
        presented(f, credential, FULL_SERVER_CHECK, { untrustedPem: attackerIntermediatePem + f.pki.intermediateCa.certPem }),
        /unable to get local issuer certificate/,
      );
      assertPasses(opensslVerifyWith({ trustedPem: attackerIntermediatePem, leafPem, options: ['-partial_chain', ...FULL_SERVER_CHECK] }));
    });

    for (const name of ['wrong-hostname-cn', 'wrong-hostname-san'] as const) {
      it(`${name}: genuine chain, but the name check fails; the other name verifies`, () => {
        const credential = forged(name);
        assertFails(presented(f, credential, FULL_SERVER_CHECK), /error 62 at 0 depth lookup: hostname mismatch/);
        assertPasses(presented(f, credential, ['-purpose', 'sslserver']));
        assertPasses(presented(f, credential, ['-purpose', 'sslserver', '-verify_hostname', OTHER_HOST_NAME]));
        const leaf = leafOf(credential);
        if (name === 'wrong-hostname-cn') {
          assert.equal(leaf.subjectAltName, undefined);
          assert.match(leaf.subject, /CN=attacker\.example/);
        } else {
          assert.equal(leaf.subjectAltName, 'DNS:attacker.example');
          assert.match(leaf.subject, /CN=cloud\.testbed\.local/, 'the CN alone names the server (RFC 6125 §6.4.4: ignored)');
        }
      });
    }

    const timeCases = [
      { name: 'expired', error: /error 10 at 0 depth lookup: certificate has expired/ },
      { name: 'not-yet-valid', error: /error 9 at 0 depth lookup: certificate is not yet valid/ },
      { name: 'expired-intermediate', error: /error 10 at 1 depth lookup: certificate has expired/ },
    ] as const;
    for (const { name, error } of timeCases) {
      it(`${name}: fails on time only; with time checks off the whole chain verifies`, () => {
        const credential = forged(name);
        assertFails(presented(f, credential, FULL_SERVER_CHECK), error);
        assertPasses(presented(f, credential, ['-no_check_time', ...FULL_SERVER_CHECK]));
        const leaf = leafOf(credential);
        const now = f.now.getTime();
        const [, intermediatePem = ''] = certificatesOf(credential.certChainPem);
        const intermediate = new X509Certificate(intermediatePem);
        if (name === 'expired') assert.ok(Date.parse(leaf.validTo) < now);
        if (name === 'not-yet-valid') assert.ok(Date.parse(leaf.validFrom) > now);
        if (name === 'expired-intermediate') {
          assert.ok(Date.parse(leaf.validFrom) < now && Date.parse(leaf.validTo) > now, 'the leaf itself is valid now');
          assert.ok(Date.parse(intermediate.validTo) < now);
          assert.ok(intermediate.verify(new X509Certificate(f.pki.rootCa.certPem).publicKey), 'signed by the genuine root key');
        }
      });
    }

    it('ca-false-intermediate: the issuer is the genuine gateway leaf (CA:FALSE), whose key really signed the forged leaf', () => {
      const credential = forged('ca-false-intermediate');
      const [, issuerPem = '', intermediatePem = ''] = certificatesOf(credential.certChainPem);
      assert.equal(issuerPem, f.pki.gateway.certPem);
      assert.equal(intermediatePem, f.pki.intermediateCa.certPem);
      assert.match(opensslText(issuerPem), /CA:FALSE/);
      assert.ok(leafOf(credential).verify(new X509Certificate(issuerPem).publicKey));
      assertFails(presented(f, credential, FULL_SERVER_CHECK), /at 1 depth lookup: invalid CA certificate/);
      assertPasses(opensslVerifyWith({ trustedPem: f.pki.rootCa.certPem, untrustedPem: intermediatePem, leafPem: issuerPem, options: ['-purpose', 'sslserver'] }));
    });

    it('no-basic-constraints-intermediate: an intermediate of the genuine root without basicConstraints', () => {
      const credential = forged('no-basic-constraints-intermediate');
      const [, subCaPem = ''] = certificatesOf(credential.certChainPem);
      const subCa = new X509Certificate(subCaPem);
      assert.doesNotMatch(opensslText(subCaPem), /Basic Constraints/);
      assert.match(opensslText(subCaPem), /Certificate Sign/, 'it still claims keyCertSign');
      assert.ok(subCa.verify(new X509Certificate(f.pki.rootCa.certPem).publicKey));
      assert.ok(leafOf(credential).verify(subCa.publicKey));
      assertFails(presented(f, credential, FULL_SERVER_CHECK), /error \d+ at 1 depth lookup: invalid CA certificate/);
    });

    it('bad-signature: the genuine intermediate is named but the signature fails; one bit back, it verifies', () => {
      const credential = forged('bad-signature');
      const leaf = leafOf(credential);
      assert.equal(leaf.issuer, new X509Certificate(f.pki.intermediateCa.certPem).subject);
      assert.equal(leaf.verify(new X509Certificate(f.pki.intermediateCa.certPem).publicKey), false);
      assertFails(presented(f, credential, FULL_SERVER_CHECK), /error 7 at 0 depth lookup: certificate signature failure/);
      const der = Buffer.from(leaf.raw);
      der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
      assertPasses(presented(f, credential, FULL_SERVER_CHECK, { leafPem: new X509Certificate(der).toString() }));
    });

    it('replaced-key: the genuine cloud chain verifies fully, the key does not match it, and OpenSSL will not serve the pair', () => {
      const credential = forged('replaced-key');
      assert.equal(credential.certChainPem, f.pki.cloud.chainPem);
      assert.notEqual(credential.keyPem, f.pki.cloud.keyPem);
      assertPasses(presented(f, credential, FULL_SERVER_CHECK));
      assert.equal(leafOf(credential).checkPrivateKey(createPrivateKey(credential.keyPem)), false);
      // SSL_CTX_use_PrivateKey checks the key against the certificate: no OpenSSL-based server
      // (node:tls, openssl s_server) can even offer this credential.
      assert.throws(() => createSecureContext({ cert: credential.certChainPem, key: credential.keyPem }), { code: 'ERR_OSSL_X509_KEY_VALUES_MISMATCH' });
    });

    it('wrong-eku: genuine chain for the right name, refused for the sslserver purpose only', () => {
      const credential = forged('wrong-eku');
      assert.match(opensslText(credential.certChainPem), /TLS Web Client Authentication/);
      assertFails(presented(f, credential, FULL_SERVER_CHECK), /error 26 at 0 depth lookup: unsuitable certificate purpose/);
      assertPasses(presented(f, credential, ['-purpose', 'sslclient', '-verify_hostname', SERVER_NAME]));
    });

    const weakDigests = [
      { name: 'sha1-signature', algorithmText: algorithm === 'rsa-2048' ? /sha1WithRSAEncryption/ : /ecdsa-with-SHA1/ },
      { name: 'md5-signature', algorithmText: /md5WithRSAEncryption/ },
    ] as const;
    for (const { name, algorithmText } of weakDigests) {
      it(`${name}: a real ${name.slice(0, -10).toUpperCase()} signature by a CA of the genuine root, refused from auth level 1`, () => {
        const credential = forged(name);
        const [leafPem = '', issuerPem = ''] = certificatesOf(credential.certChainPem);
        assert.match(opensslText(leafPem), new RegExp(`Signature Algorithm: ${algorithmText.source}`));
        assert.ok(new X509Certificate(leafPem).verify(new X509Certificate(issuerPem).publicKey), 'the weak signature is genuine');
        assertPasses(presented(f, credential, FULL_SERVER_CHECK));
        assertFails(presented(f, credential, ['-auth_level', '1', ...FULL_SERVER_CHECK]), /error 68 at 0 depth lookup: CA signature digest algorithm too weak/);
        if (name === 'md5-signature' && algorithm === 'ecdsa-p256') {
          // No ECDSA-with-MD5 exists: a legacy RSA intermediate, certified by the genuine root with SHA-256, signs.
          assert.notEqual(issuerPem, f.pki.intermediateCa.certPem);
          assert.match(opensslText(issuerPem), /Signature Algorithm: ecdsa-with-SHA256[\s\S]*Public-Key: \(2048 bit\)/);
        } else {
          assert.equal(issuerPem, f.pki.intermediateCa.certPem);
        }
      });
    }

    it('rsa-1024: genuine chain with a 1024-bit key, refused at auth level 2 only', () => {
      const credential = forged('rsa-1024');
      assert.match(opensslText(credential.certChainPem), /Public-Key: \(1024 bit\)/);
      assertPasses(presented(f, credential, ['-auth_level', '1', ...FULL_SERVER_CHECK]));
      assertFails(presented(f, credential, ['-auth_level', '2', ...FULL_SERVER_CHECK]), /error 66 at 0 depth lookup: EE certificate key too weak/);
    });

    it('unknown-critical-extension: refused for the critical extension only', () => {
      const credential = forged('unknown-critical-extension');
      assert.match(opensslText(credential.certChainPem), new RegExp(`${UNKNOWN_EXTENSION_OID.replaceAll('.', '\\.')}: critical`));
      assertFails(presented(f, credential, FULL_SERVER_CHECK), /error 34 at 0 depth lookup: unhandled critical extension/);
      assertPasses(presented(f, credential, ['-ignore_critical', ...FULL_SERVER_CHECK]));
    });

    it('real-cert-other-name: the gateway\'s genuine credential; valid in every way except the name', () => {
      const credential = forged('real-cert-other-name');
      assert.equal(credential.certChainPem, f.pki.gateway.chainPem);
      assert.equal(leafOf(credential).checkPrivateKey(createPrivateKey(credential.keyPem)), true);
      assertFails(presented(f, credential, FULL_SERVER_CHECK), /error 62 at 0 depth lookup: hostname mismatch/);
      assertPasses(presented(f, credential, ['-purpose', 'sslserver', '-verify_hostname', 'gateway.testbed.local']));
    });

    it('revoked: a valid genuine certificate whose serial the intermediate\'s CRL lists; the CRL spares the others', () => {
      const credential = forged('revoked');
      assert.equal(credential.revokedSerialHex, revokedSerialHex(f.pki));
      assert.equal(leafOf(credential).serialNumber, credential.revokedSerialHex);
      assert.deepEqual(f.crl.revokedSerials, [credential.revokedSerialHex]);
      assertPasses(presented(f, credential, FULL_SERVER_CHECK));
      assertFails(presented(f, credential, ['-crl_check', ...FULL_SERVER_CHECK], { crlPem: f.crl.crlPem }), /error 23 at 0 depth lookup: certificate revoked/);
      const genuine = { ...credential, certChainPem: f.pki.cloud.chainPem };
      assertPasses(presented(f, genuine, ['-crl_check', ...FULL_SERVER_CHECK], { crlPem: f.crl.crlPem }));
      assertPasses(presented(f, genuine, ['-crl_check_all', ...FULL_SERVER_CHECK], { crlPem: f.crl.crlPem + f.crl.rootCrlPem }));
    });

    it('runCrl: v2 CRLs signed by the intermediate and the root, listing exactly the given serials', async () => {
      const serials = ['0A1B2C', revokedSerialHex(f.pki).toLowerCase()];
      const list = await runCrl({ pki: f.pki, serverName: SERVER_NAME, now: f.now }, serials);
      assert.deepEqual(list.revokedSerials, serials.map((s) => s.toUpperCase()));
      const intermediateCrl = opensslCrl(list.crlPem);
      assert.equal(intermediateCrl.status, 0, intermediateCrl.output);
      assert.match(intermediateCrl.output, /Version 2 \(0x1\)/);
      assert.match(intermediateCrl.output, /X509v3 CRL Number/);
      assert.match(intermediateCrl.output, /Serial Number: 0A1B2C[\s\S]*Key Compromise/);
      assert.match(intermediateCrl.output, new RegExp(`Serial Number: ${revokedSerialHex(f.pki)}`));
      assert.match(intermediateCrl.output, /Issuer: .*Intermediate CA/);
      assert.match(opensslCrl(list.rootCrlPem).output, /No Revoked Certificates/);
      assert.match(opensslCrl(list.crlPem, f.pki.intermediateCa.certPem).output, /verify OK/, 'signed by the intermediate key');
      assert.match(opensslCrl(list.crlPem, f.pki.rootCa.certPem).output, /verify failure|Error getting CRL issuer/, 'not by the root key');
      assert.match(opensslCrl(list.rootCrlPem, f.pki.rootCa.certPem).output, /verify OK/, 'the root CRL is signed by the root key');
    });

    it('needsLegacySecurityLevel says exactly which credentials OpenSSL refuses to load at SECLEVEL 2', () => {
      for (const [name, credential] of f.catalogue) {
        if (name === 'replaced-key') continue;
        const load = () => createSecureContext({ cert: credential.certChainPem, key: credential.keyPem, ciphers: SECLEVEL_2_CIPHERS });
        if (credential.needsLegacySecurityLevel) assert.throws(load, /ERR_SSL_(CA_MD_TOO_WEAK|EE_KEY_TOO_SMALL)|too weak|too small/, name);
        else assert.doesNotThrow(load, name);
        // ...and the MITM's legacy setting does load it.
        assert.doesNotThrow(() => createSecureContext({ cert: credential.certChainPem, key: credential.keyPem, ciphers: LEGACY_SERVER_CIPHERS }), name);
      }
    });

    it('at node\'s default security level a server loads every credential but the SHA-1/MD5-signed ones and replaced-key', () => {
      const refused: string[] = [];
      for (const [name, credential] of f.catalogue) {
        try {
          createSecureContext({ cert: credential.certChainPem, key: credential.keyPem });
        } catch (error) {
          refused.push(`${name}: ${(error as NodeJS.ErrnoException).code}`);
        }
      }
      assert.deepEqual(refused, [
        'replaced-key: ERR_OSSL_X509_KEY_VALUES_MISMATCH',
        'sha1-signature: ERR_SSL_CA_MD_TOO_WEAK',
        'md5-signature: ERR_SSL_CA_MD_TOO_WEAK',
      ]);
    });

    for (const name of FORGED_CASE_NAMES) {
      if (name === 'replaced-key') continue;
      it(`node:tls over loopback, ${name}: secure client refuses as expected; a non-verifying client connects`, async () => {
        const credential = forged(name);
        const secure = { ca: f.pki.rootCa.certPem };
        const expected = NODE_SECURE[name];
        assertVerdict(await handshake(credential, secure), expected.secure, 'secure');
        // With an ECDSA PKI the MD5 leaf's issuer is the legacy RSA intermediate, which has no CRL.
        const withCrl = name === 'md5-signature' && algorithm === 'ecdsa-p256' ? CRL_MISSING : expected.withCrl;
        assertVerdict(await handshake(credential, { ...secure, crl: [f.crl.crlPem, f.crl.rootCrlPem] }), withCrl, 'secure + CRLs');
        const atLevel2 = name === 'rsa-1024' ? { code: 'UNSPECIFIED', message: /EE certificate key too weak/ } : expected.secure;
        assertVerdict(await handshake(credential, { ...secure, ciphers: SECLEVEL_2_CIPHERS }), atLevel2, 'secure at SECLEVEL 2');
        // The refusal is the client's verification, not a broken server: without it, it connects.
        assertVerdict(await handshake(credential, { rejectUnauthorized: false }), 'connects', 'no-verify');
      });
    }
  });
}

describe('forged-certificate catalogue: bad input', () => {
  let pki: Pki;
  before(async () => {
    pki = await generatePki({ wearableIds: [] });
  });

  it('an unknown case name fails with the list of every valid name', async () => {
    await assert.rejects(forgeCertificate('expird', { pki, serverName: SERVER_NAME }), (error: Error) => {
      assert.match(error.message, /^forged-catalogue: unknown case "expird"; valid names: /);
      for (const name of FORGED_CASE_NAMES) assert.ok(error.message.includes(name), name);
      return true;
    });
  });

  it('forgeCertificate makes one case, matching the run\'s CRL for revoked', async () => {
    const now = new Date();
    const revoked = await forgeCertificate('revoked', { pki, serverName: SERVER_NAME, now });
    assert.equal(revoked.revokedSerialHex, revokedSerialHex(pki));
    const expired = await forgeCertificate('expired', { pki, serverName: SERVER_NAME, now });
    assert.equal(expired.revokedSerialHex, undefined);
    assert.ok(Date.parse(leafOf(expired).validTo) < now.getTime() - DAY_MS / 2);
  });

  it('forges for an IP address server name (SAN iPAddress) as well', async () => {
    const credential = await forgeCertificate('expired', { pki, serverName: '127.0.0.2' });
    assert.equal(leafOf(credential).checkIP('127.0.0.2'), '127.0.0.2');
  });

  it('refuses a server name that would make a case pass by accident', async () => {
    // The gateway certificate also covers localhost: real-cert-other-name would then be valid.
    await assert.rejects(forgeCertificate('real-cert-other-name', { pki, serverName: 'localhost' }), /gateway certificate also covers localhost/);
    await assert.rejects(forgeCertificate('replaced-key', { pki, serverName: 'elsewhere.example' }), /does not cover elsewhere\.example/);
    await assert.rejects(forgeCertificate('wrong-hostname-san', { pki, serverName: OTHER_HOST_NAME }), /serverName must be/);
  });
});
