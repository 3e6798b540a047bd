/**
 * The client side of bench/fleet.ts's connect storm, in a worker thread, so the devices and the
 * broker each have a core of the two (one Node thread runs TLS on one core only). Two kinds, same
 * certificates, same concurrency, same TCP options, against a server in the main thread:
 *   fleet  FleetDevices (emulators/fleet/) to MQTT CONNACK, against the CloudBroker (Aedes);
 *   raw    bare node:tls connections to the server's first byte back (one byte each way,
 *          where the fleet device has CONNECT and CONNACK), against a bare node:tls server.
 * Both load every device's credentials into its TLS context first (a device does that once at
 * power-on) and report that time apart from the storm.
 *
 * Messages: main → worker 'go'; worker → main {ready: bootSeconds}, {done: true, refusals, topRefusal?} | {error}.
 * The connections stay open until the worker is terminated.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connect as tlsConnect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { connect as netConnect } from 'node:net';
import { Fleet, type FleetMember } from '../emulators/fleet/fleet.ts';
import { SimClock } from '../emulators/sim-clock.ts';
import type { FleetEndpoint } from '../emulators/fleet/fleet-device.ts';

export interface StormJob {
  readonly kind: 'fleet' | 'raw';
  readonly members: readonly FleetMember[];
  readonly caPem: string;
  readonly cloudE3PublicKeyPem: string;
  readonly endpoint: FleetEndpoint;
  readonly concurrency: number;
  readonly deadlineMs: number;
}

/** One bare mutual-TLS connection per device, one byte each way, `concurrency` at once, held open. */
async function rawStorm(contexts: readonly SecureContext[], job: StormJob, open: TLSSocket[]): Promise<void> {
  let next = 0;
  const one = (secureContext: SecureContext) =>
    new Promise<void>((resolve, reject) => {
      const tcp = netConnect({ host: job.endpoint.host, port: job.endpoint.port, noDelay: true });
      const s = tlsConnect({ socket: tcp, servername: job.endpoint.serverName, secureContext }, () => s.write('c'));
      // Done when the server's byte comes back, as the fleet device is at CONNACK: a bare client
      // that sends nothing after its handshake measured half as fast here (its last flight waits).
      s.once('data', () => resolve());
      s.on('error', reject);
      open.push(s);
    });
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (next < contexts.length) await one(contexts[next++] as SecureContext);
    }),
  );
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('bench/fleet-storm-thread: run as a worker thread of bench/fleet.ts');
  const job = workerData as StormJob;
  const started = performance.now();
  let go: () => Promise<void>;
  let refusals = 0;
  let topRefusal: string | undefined;
  if (job.kind === 'fleet') {
    const fleet = new Fleet({ members: job.members, caPem: job.caPem, cloudE3PublicKeyPem: job.cloudE3PublicKeyPem, endpoint: job.endpoint, clock: new SimClock({ startSec: Math.floor(Date.now() / 1000), speedup: 1, wallStartMs: Date.now() }), connectConcurrency: job.concurrency });
    fleet.loadCredentials();
    go = async () => {
      await fleet.connectAll(job.deadlineMs);
      // Attempts the broker refused or that timed out and were retried: a storm slowed by retries says so.
      refusals = fleet.counters.refusals;
      topRefusal = refusals > 0 ? fleet.counters.topRefusal() : undefined;
    };
  } else {
    // The same options as the fleet device's context (emulators/fleet/fleet.ts).
    const contexts = job.members.map((m) => createSecureContext({ ca: job.caPem, cert: m.certChainPem, key: m.keyPem, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: 'DEFAULT:@SECLEVEL=2' }));
    const open: TLSSocket[] = [];
    go = () => rawStorm(contexts, job, open);
  }
  port.postMessage({ ready: (performance.now() - started) / 1000 });
  port.once('message', () => {
    go().then(
      () => port.postMessage({ done: true, refusals, ...(topRefusal ? { topRefusal } : {}) }),
      (err: Error) => port.postMessage({ error: err.message }),
    );
  });
}

main().catch((err: Error) => parentPort?.postMessage({ error: err.message }));
