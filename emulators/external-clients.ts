/**
 * Independent real clients, so the matrix is not only Node judging Node:
 * - `mosquitto_pub` (Debian mosquitto-clients), as a device firmware team would test with;
 * - `openssl s_client` with the source chapter's E4 command line (§17.3.1), verbatim in its
 *   options. Note what that line lacks: without `-verify_return_error` s_client reports a failed
 *   verification and carries on, so it talks to anyone. The `openssl-strict` variant adds the
 *   checks (`-verify_return_error -verify_hostname`) the chapter's line leaves out.
 * Each run is bounded in time; a client that hangs is killed and reported as such.
 */
import { spawn } from 'node:child_process';

export interface ExternalRun {
  readonly command: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export function runBounded(binary: string, args: readonly string[], options: { stdin?: Uint8Array; timeoutMs: number; closeStdinAfterMs?: number }): Promise<ExternalRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => (stdout = (stdout + b.toString('latin1')).slice(-64_000)));
    child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString('latin1')).slice(-64_000)));
    child.stdin.on('error', () => undefined);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    if (options.stdin) child.stdin.write(options.stdin);
    const closer = setTimeout(() => child.stdin.end(), options.closeStdinAfterMs ?? 0);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      clearTimeout(closer);
      reject(err.code === 'ENOENT' ? new Error(`${binary} is not installed; run \`testbed doctor\` for the install command`) : err);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      clearTimeout(closer);
      resolve({ command: [binary, ...args].join(' '), exitCode, signal, stdout, stderr, timedOut });
    });
  });
}

export interface ClientFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** mosquitto_pub over TLS 1.3 with mTLS; hostname checked against -h (RFC 6125), as it does by default. */
export function mosquittoPub(o: ClientFiles & { host: string; port: number; clientId: string; topic: string; payloadFile: string; timeoutMs: number }): Promise<ExternalRun> {
  return runBounded(
    'mosquitto_pub',
    ['-h', o.host, '-p', String(o.port), '--cafile', o.caFile, '--cert', o.certFile, '--key', o.keyFile, '--tls-version', 'tlsv1.3', '-i', o.clientId, '-t', o.topic, '-f', o.payloadFile, '-q', '1', '-V', 'mqttv311'],
    { timeoutMs: o.timeoutMs },
  );
}

/** The source chapter's E4 line (§17.3.1), pointed at `host:port`, optionally with the strict checks. */
export function opensslSClient(o: ClientFiles & { host: string; port: number; serverName: string; strict: boolean; crlFile?: string | undefined; stdin: Uint8Array; timeoutMs: number }): Promise<ExternalRun> {
  const args = [
    's_client',
    '-connect', `${o.host}:${o.port}`,
    '-CAfile', o.caFile,
    '-cert', o.certFile,
    '-key', o.keyFile,
    '-tls1_3',
    '-ciphersuites', 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256',
    '-servername', o.serverName,
    ...(o.strict ? ['-verify_return_error', '-verify_hostname', o.serverName] : []),
    ...(o.strict && o.crlFile ? ['-crl_check', '-CRL', o.crlFile] : []),
    // Binary MQTT on stdin must not be read as s_client's interactive commands (Q, R, k…).
    '-nocommands',
  ];
  // s_client sends what it read from stdin after the handshake, then quits at end of input.
  return runBounded('openssl', args, { stdin: o.stdin, timeoutMs: o.timeoutMs, closeStdinAfterMs: 0 });
}

/** The verification result s_client prints, e.g. "certificate has expired". */
export function sClientVerifyError(run: ExternalRun): string | undefined {
  const m = /verify error:num=\d+:([^\n]+)/.exec(run.stdout + run.stderr) ?? /Verify return code: [1-9]\d* \(([^)]+)\)/.exec(run.stdout);
  return m?.[1]?.trim();
}
