/**
 * sslscan (Debian `sslscan`, rbsec) as an independent judge of a TLS server's policy: which
 * protocol versions it enables and which cipher suites it accepts, each found by its own
 * handshakes with its own OpenSSL build. Run bounded (a timeout), with the checks that do not
 * concern the policy (Heartbleed, compression, renegotiation, groups, fallback) turned off.
 */
import { execFile } from 'node:child_process';
import { cipherSuiteName } from './tls-client-hello.ts';

export interface SslscanProtocol {
  /** 'SSLv2', 'SSLv3', 'TLS 1.0' … 'TLS 1.3'. */
  readonly version: string;
  readonly enabled: boolean;
}

export interface SslscanCipher {
  /** As sslscan reports the version: 'TLSv1.0' … 'TLSv1.3'. */
  readonly protocol: string;
  /** IANA name from the suite id (e.g. TLS_RSA_WITH_AES_128_CBC_SHA), or 0x… when unknown. */
  readonly ianaName: string;
  readonly opensslName: string;
  readonly id: number;
  readonly preferred: boolean;
}

export interface SslscanReport {
  readonly protocols: readonly SslscanProtocol[];
  readonly ciphers: readonly SslscanCipher[];
}

const attributes = (tag: string): Map<string, string> => new Map([...tag.matchAll(/([a-z]+)="([^"]*)"/g)].map((m) => [m[1] as string, m[2] as string]));

/** Parse `sslscan --xml=-` output. Throws, saying so, when there is no <ssltest> in it. */
export function parseSslscanXml(xml: string): SslscanReport {
  if (!xml.includes('<ssltest')) {
    const error = /<error>(?:<!\[CDATA\[)?([^\]<]*)/.exec(xml)?.[1]?.trim();
    throw new Error(`sslscan: no scan result in its output${error ? ` (sslscan said: ${error})` : ''}; run sslscan by hand against the same host:port to see why`);
  }
  const protocols = [...xml.matchAll(/<protocol [^>]*\/>/g)].map((m) => {
    const a = attributes(m[0]);
    const version = a.get('type') === 'ssl' ? `SSLv${a.get('version')}` : `TLS ${a.get('version')}`;
    return { version, enabled: a.get('enabled') === '1' };
  });
  const ciphers = [...xml.matchAll(/<cipher [^>]*\/>/g)].map((m) => {
    const a = attributes(m[0]);
    const id = Number.parseInt(a.get('id') ?? '', 16);
    if (!Number.isInteger(id)) throw new Error(`sslscan: cipher entry without a hex id: ${m[0]}`);
    return { protocol: a.get('sslversion') ?? '?', ianaName: cipherSuiteName(id), opensslName: a.get('cipher') ?? '?', id, preferred: a.get('status') === 'preferred' };
  });
  return { protocols, ciphers };
}

export interface SslscanTarget {
  readonly host: string;
  readonly port: number;
  readonly serverName: string;
  /** Client certificate chain and key files, for servers that require mutual TLS. */
  readonly clientCertChainFile?: string;
  readonly clientKeyFile?: string;
  readonly timeoutMs: number;
}

export function runSslscan(t: SslscanTarget): Promise<{ report: SslscanReport; commandLine: string }> {
  const args = [
    '--xml=-',
    '--no-colour',
    '--no-heartbleed',
    '--no-compression',
    '--no-renegotiation',
    '--no-groups',
    '--no-fallback',
    '--no-check-certificate',
    `--sni-name=${t.serverName}`,
    ...(t.clientCertChainFile ? [`--certs=${t.clientCertChainFile}`] : []),
    ...(t.clientKeyFile ? [`--pk=${t.clientKeyFile}`] : []),
    `${t.host}:${t.port}`,
  ];
  const commandLine = `sslscan ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    execFile('sslscan', args, { timeout: t.timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return reject(new Error('sslscan: not installed; install it with: apt-get install -y sslscan'));
      if (err && err.killed) return reject(new Error(`sslscan: no result within ${t.timeoutMs} ms against ${t.host}:${t.port} (killed); the server hangs or the scan is too broad`));
      try {
        resolve({ report: parseSslscanXml(stdout), commandLine });
      } catch (parseError) {
        reject(new Error(`${(parseError as Error).message}\n${commandLine}\n${stderr.slice(-2000)}`));
      }
    });
  });
}
