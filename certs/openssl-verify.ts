// Cross-checks chains with OpenSSL's command-line verifier, an implementation independent of
// both @peculiar/x509 (which made the certificates) and node:tls. Used by the tests and by
// anyone who wants to check a written PKI by hand the same way.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface OpensslVerdict {
  ok: boolean;
  /** openssl's own words, e.g. "leaf.crt: OK" or "error 10 at 0 depth lookup: certificate has expired". */
  output: string;
}

export type OpensslPurpose = 'sslserver' | 'sslclient';

/** `openssl verify -CAfile root -untrusted intermediate [-purpose P] leaf`, on PEM strings. */
export function opensslVerify(rootPem: string, intermediatePem: string, leafPem: string, purpose?: OpensslPurpose): OpensslVerdict {
  return opensslVerifyWith({ trustedPem: rootPem, untrustedPem: intermediatePem, leafPem, options: purpose ? ['-purpose', purpose] : [] });
}

export interface OpensslVerifyInput {
  /** -CAfile: the trust anchors. */
  trustedPem: string;
  /** -untrusted: the intermediates the peer sent (omitted when empty). */
  untrustedPem?: string;
  leafPem: string;
  /** -CRLfile (add '-crl_check' or '-crl_check_all' to options to use it). */
  crlPem?: string;
  /** Further flags, e.g. ['-verify_hostname', 'cloud.testbed.local', '-auth_level', '2', '-attime', '1700000000']. */
  options?: string[];
}

/** `openssl verify` with any flags, on PEM strings: the forged catalogue's tests use the full set. */
export function opensslVerifyWith(input: OpensslVerifyInput): OpensslVerdict {
  const dir = mkdtempSync(join(tmpdir(), 'certs-verify-'));
  try {
    const file = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text, { mode: 0o600 });
      return path;
    };
    const args = ['verify', '-CAfile', file('trusted.crt', input.trustedPem)];
    if (input.untrustedPem) args.push('-untrusted', file('untrusted.crt', input.untrustedPem));
    if (input.crlPem) args.push('-CRLfile', file('crl.pem', input.crlPem));
    args.push(...(input.options ?? []), file('leaf.crt', input.leafPem));
    const run = spawnSync('openssl', args, { encoding: 'utf8', timeout: 20_000 });
    if (run.error) throw new Error(`certs: cannot run openssl (${run.error.message}); install it (apt-get install openssl)`);
    const output = `${run.stdout}${run.stderr}`.trim();
    return { ok: run.status === 0 && /: OK$/m.test(output), output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `openssl x509 -noout -text`: OpenSSL's own rendering of a certificate, a second parser to check ours. */
export function opensslText(pem: string): string {
  const run = spawnSync('openssl', ['x509', '-noout', '-text'], { input: pem, encoding: 'utf8', timeout: 20_000 });
  if (run.error) throw new Error(`certs: cannot run openssl (${run.error.message}); install it (apt-get install openssl)`);
  if (run.status !== 0) throw new Error(`certs: openssl cannot parse the certificate: ${run.stderr.trim()}`);
  return run.stdout;
}
