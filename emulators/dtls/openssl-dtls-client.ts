/**
 * `openssl s_client -dtls1_2` as an independent DTLS peer (docs/architecture.md §5 Transports): Debian's OpenSSL 3.0
 * checks what pion checks, with its own code. Without `-verify_return_error` s_client reports a
 * failed verification and carries on, so the strict line always carries it, together with the
 * host name check and, when given, the CRL. stdin is sent after the handshake as one datagram per
 * read (one reading datagram, reading-datagram.ts, fits one read).
 */
import { runBounded, type ExternalRun } from '../external-clients.ts';

export interface OpensslDtlsClientOptions {
  readonly host: string;
  readonly port: number;
  readonly serverName: string;
  readonly caFile: string;
  /** Client certificate chain and key, for a server that asks for one. */
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly crlFile?: string;
  readonly stdin: Uint8Array;
  /** Keep stdin open this long so answers (acks) arrive before s_client quits at end of input. */
  readonly lingerMs?: number;
  readonly timeoutMs: number;
}

export function opensslDtlsArgs(o: OpensslDtlsClientOptions): string[] {
  if ((o.certFile === undefined) !== (o.keyFile === undefined)) throw new Error('openssl-dtls-client: certFile and keyFile go together; give both or neither');
  return [
    's_client',
    '-dtls1_2',
    '-connect', `${o.host}:${o.port}`,
    '-CAfile', o.caFile,
    '-servername', o.serverName,
    '-verify_return_error',
    '-verify_hostname', o.serverName,
    ...(o.certFile && o.keyFile ? ['-cert', o.certFile, '-key', o.keyFile] : []),
    ...(o.crlFile ? ['-crl_check', '-CRL', o.crlFile] : []),
    // Binary datagrams on stdin must not be read as s_client's interactive commands (Q, R, k…).
    '-nocommands',
  ];
}

export function opensslDtlsClient(o: OpensslDtlsClientOptions): Promise<ExternalRun> {
  return runBounded('openssl', opensslDtlsArgs(o), { stdin: o.stdin, timeoutMs: o.timeoutMs, closeStdinAfterMs: o.lingerMs ?? 0 });
}

/** The DTLS handshake completed: s_client names a negotiated cipher ("Cipher is (NONE)" when not). */
export function sClientDtlsHandshakeCompleted(run: ExternalRun): boolean {
  return /^New, (?:DTLSv1\.2|TLSv1\.2), Cipher is (?!\(NONE\))\S+/m.test(run.stdout);
}
