/**
 * The probe role in a container: the same probes the local placement runs in-process
 * (emulators/device-credentials.ts, emulators/tls-probe.ts) and sslscan, against the broker on
 * the cloud network. What to offer comes with each request; the probe keeps no state between
 * requests, so a scenario's evidence is the broker's log and the capture beside the probe.
 *
 *   POST /credential {credential, caPem, clientId, topic, payload, timeoutMs, keyLog}   a device credential (mTLS)
 *   POST /tls {offer, caPem, certChainPem, keyPem, timeoutMs, keyLog, mqttClientId?}   one version or one suite
 *   POST /sslscan {clientCertChainFile, clientKeyFile, timeoutMs}                       sslscan's report
 *
 * Secrets (the probe's TLS key log) are written to the evidence directory, mode 0600, under the
 * name the request gives, so the test process decrypts the broker's TLS 1.3 alerts with them.
 */
import { basename, join } from 'node:path';
import { probeBroker, type DeviceCredential } from '../../emulators/device-credentials.ts';
import { probeTlsHandshake, type TlsProbeOffer } from '../../emulators/tls-probe.ts';
import { runSslscan } from '../../analysis/sslscan.ts';
import { EVIDENCE_DIR, type ProbeRole } from '../role-config.ts';
import { fromWire } from '../wire.ts';

type Handler = (body: Record<string, unknown>) => Promise<unknown>;

const text = (b: Record<string, unknown>, field: string): string => {
  const v = b[field];
  if (typeof v !== 'string' || v === '') throw new Error(`probe: the request has no "${field}" string`);
  return v;
};

const timeout = (b: Record<string, unknown>): number => {
  const v = Number(b.timeoutMs ?? 5_000);
  if (!Number.isInteger(v) || v < 100 || v > 120_000) throw new Error(`probe: "timeoutMs" must be 100..120000 ms, got ${String(b.timeoutMs)}`);
  return v;
};

/** Bytes as the control channel carries them ({"$hex": …}, wire.ts): the runner parses plain JSON. */
function bytes(b: Record<string, unknown>, field: string): Uint8Array {
  const v = fromWire(b[field]);
  if (!(v instanceof Uint8Array)) throw new Error(`probe: "${field}" must be bytes ({"$hex": "…"})`);
  return v;
}

/** A key log under the evidence directory; a plain file name only (no path from the request). */
function keyLogPath(b: Record<string, unknown>): string | undefined {
  if (b.keyLog === undefined) return undefined;
  const name = text(b, 'keyLog');
  if (basename(name) !== name || !name.endsWith('.keylog')) throw new Error(`probe: "keyLog" must be a plain file name ending in .keylog, got "${name}"`);
  return join(EVIDENCE_DIR, 'keylogs', name);
}

export function startProbe(config: ProbeRole): { routes: Record<string, Handler>; stop(): Promise<void> } {
  const broker = config.broker;
  return {
    routes: {
      'POST /credential': async (b) => {
        const keyLogFile = keyLogPath(b);
        return probeBroker({
          credential: b.credential as DeviceCredential,
          caPem: text(b, 'caPem'),
          ...broker,
          clientId: text(b, 'clientId'),
          topic: text(b, 'topic'),
          payload: bytes(b, 'payload'),
          timeoutMs: timeout(b),
          ...(keyLogFile ? { keyLogFile } : {}),
        });
      },
      'POST /tls': async (b) => {
        const keyLogFile = keyLogPath(b);
        return probeTlsHandshake(
          { ...broker, caPem: text(b, 'caPem'), certChainPem: text(b, 'certChainPem'), keyPem: text(b, 'keyPem'), timeoutMs: timeout(b), ...(keyLogFile ? { keyLogFile } : {}), ...(typeof b.mqttClientId === 'string' ? { mqttClientId: b.mqttClientId } : {}) },
          b.offer as TlsProbeOffer,
        );
      },
      'POST /sslscan': async (b) => runSslscan({ ...broker, clientCertChainFile: text(b, 'clientCertChainFile'), clientKeyFile: text(b, 'clientKeyFile'), timeoutMs: timeout(b) }),
    },
    stop: async () => undefined,
  };
}
