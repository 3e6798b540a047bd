/**
 * The raw node:tls server of bench/handshake.ts in a process of its own: the baseline for a
 * broker that runs in its own process (Mosquitto), so that row's ratio is not flattered by the
 * server having a process of its own while raw shares one with its client. The same options and
 * answer as the in-process raw server: mutual TLS 1.3, Nagle off, one byte back, then end.
 *
 * Messages (child_process IPC): parent → child { certChainPem, keyPem, caPem }; child → parent { port } | { error }.
 */
import { createServer } from 'node:tls';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';

export interface RawServerCredentials {
  readonly certChainPem: string;
  readonly keyPem: string;
  readonly caPem: string;
}

/** Fork the server; resolves with its loopback port and a stop that ends the process. */
export async function startRawServerProcess(credentials: RawServerCredentials): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = fork(new URL(import.meta.url), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ended = () => child.exitCode !== null || child.signalCode !== null;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (ended()) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('bench: the raw node:tls server process did not report its port within 20 s')), 20_000);
      child.once('message', (m: { port?: number; error?: string }) => {
        clearTimeout(timer);
        if (m.port) resolve(m.port);
        else reject(new Error(`bench: the raw node:tls server process failed: ${m.error ?? 'no port'}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`bench: the raw node:tls server process exited (${code ?? signal}) before it listened`));
      });
      child.send(credentials);
    });
    return { port, stop };
  } catch (err) {
    // A child left running would hold this process open through its IPC channel.
    await stop();
    throw err;
  }
}

function serve(c: RawServerCredentials): void {
  const server = createServer({ cert: c.certChainPem, key: c.keyPem, ca: c.caPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3', noDelay: true }, (s) => {
    s.once('data', () => s.end('k'));
    s.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
  server.on('error', (err) => process.send?.({ error: err.message }));
}

// As a forked child: wait for the credentials, then serve until killed.
if (process.send && process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.once('message', (m: RawServerCredentials) => serve(m));
  process.on('disconnect', () => process.exit(0));
}
