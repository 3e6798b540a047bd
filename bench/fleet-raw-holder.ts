/**
 * The memory baseline of bench/fleet.ts, in a process of its own (forked by bench/fleet-memory.ts):
 * one bare node:tls client per device, each with its own TLS context (the fleet device's options,
 * emulators/fleet/fleet.ts) and one mutual-TLS connection held open, nothing else.
 *
 * Messages: parent → {job}; child → {ready: true}; parent → 'go'; child → {connected: n} | {error}.
 */
import { connect as tlsConnect, createSecureContext, type TLSSocket } from 'node:tls';
import { connect as netConnect } from 'node:net';
import type { FleetEndpoint } from '../emulators/fleet/fleet-device.ts';

export interface RawHoldJob {
  readonly credentials: readonly { readonly keyPem: string; readonly certChainPem: string }[];
  readonly caPem: string;
  readonly endpoint: FleetEndpoint;
  readonly concurrency: number;
}

const send = (m: unknown): void => void process.send?.(m);
const open: TLSSocket[] = [];

async function holdAll(job: RawHoldJob): Promise<number> {
  let next = 0;
  const one = (c: RawHoldJob['credentials'][number]) =>
    new Promise<void>((resolve, reject) => {
      const secureContext = createSecureContext({ ca: job.caPem, cert: c.certChainPem, key: c.keyPem, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: 'DEFAULT:@SECLEVEL=2' });
      const s = tlsConnect({ socket: netConnect({ host: job.endpoint.host, port: job.endpoint.port, noDelay: true }), servername: job.endpoint.serverName, secureContext }, () => s.write('c'));
      s.once('data', () => resolve());
      s.on('error', reject);
      open.push(s);
    });
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (next < job.credentials.length) await one(job.credentials[next++] as RawHoldJob['credentials'][number]);
    }),
  );
  return open.length;
}

if (!process.send) {
  console.error('fleet-raw-holder: bench/fleet-memory.ts forks it; do not run it directly');
  process.exit(2);
}
let job: RawHoldJob | undefined;
process.on('message', (m) => {
  if (m === 'go' && job) {
    holdAll(job).then(
      (connected) => send({ connected }),
      (err: Error) => send({ error: err.message }),
    );
  } else if (typeof m === 'object' && m && 'job' in m) {
    job = (m as { job: RawHoldJob }).job;
    send({ ready: true });
  }
});
process.on('disconnect', () => process.exit(0));
