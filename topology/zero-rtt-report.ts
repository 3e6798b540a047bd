/**
 * What the 0-RTT scenarios ask of a rig, on any placement, and one reconnect-and-report as the
 * device's bridge sees it: the handshake (resumed? early data accepted, and how many bytes really
 * went early), then the broker's PUBACK for the reading, then a close, so the next connection
 * resumes with the ticket this one received (RFC 8446 §4.6.1).
 */
import type { AuditEntry } from '../emulators/cloud/cloud-service.ts';
import type { FirstFlightRecorder } from '../emulators/tls13-early-data/first-flight-recorder.ts';
import { mqttPacketsIn, type ReadingFlight } from '../emulators/tls13-early-data/mqtt-reading-flight.ts';
import type { SendWhen, WolfsslTlsProcess } from '../emulators/tls13-early-data/wolfssl-tls-process.ts';

export interface ZeroRttRigSpec {
  readonly dir: string;
  readonly deviceId: string;
  readonly rttMs: number;
  /** The front lets each ticket resume once (RFC 8446 §8.1). */
  readonly singleUseTickets: boolean;
}

export interface ReportOutcome {
  readonly sequence: bigint;
  readonly handshakeOk: boolean;
  readonly resumed: boolean;
  /** wolfSSL's word, when early data was offered. */
  readonly earlyDataStatus: string | undefined;
  /** Bytes the device really sent as early data. */
  readonly earlyDataBytes: number;
  /** The size of the reading's flight payload (CONNECT + PUBLISH). */
  readonly payloadBytes: number;
  readonly pubackReceived: boolean;
  readonly failure: string | undefined;
}

export interface ZeroRttRig {
  readonly spec: ZeroRttRigSpec;
  readonly capturePath: string;
  readonly keyLogPath: string;
  start(): Promise<void>;
  /** Seal the next reading and report it on a new connection. */
  report(when: SendWhen): Promise<ReportOutcome>;
  readonly front: Pick<WolfsslTlsProcess, 'log' | 'stats'>;
  readonly recorder: Pick<FirstFlightRecorder, 'replay' | 'flights' | 'log'>;
  /** PUBLISH packets the broker itself recorded on the device's topic. */
  publishesReceived(): Promise<number>;
  /** The cloud service's audit (in its container on the containers placement). */
  audit(): Promise<readonly AuditEntry[]>;
  /** Where the broker's record comes from, for messages ("Aedes observations", "Mosquitto's log"). */
  readonly brokerRecordName: string;
  stop(): Promise<void>;
}

/** Bounded waits: a handshake and a PUBACK take a few round trips at 50 ms; a loaded host is slower. */
const HANDSHAKE_TIMEOUT_MS = 15_000;
const PUBACK_TIMEOUT_MS = 15_000;

export async function reportReading(client: WolfsslTlsProcess, flight: ReadingFlight, sequence: bigint, when: SendWhen): Promise<ReportOutcome> {
  const since = client.log.all().length;
  const outcome = await client.connect(flight.bytes, when, HANDSHAKE_TIMEOUT_MS);
  const base = { sequence, payloadBytes: flight.bytes.length };
  if (outcome.kind !== 'handshake') {
    return { ...base, handshakeOk: false, resumed: false, earlyDataStatus: undefined, earlyDataBytes: 0, pubackReceived: false, failure: `${outcome.kind}: ${String(outcome.detail.reason ?? outcome.detail.error ?? outcome.detail.stderr ?? '')}` };
  }
  const received = () =>
    Buffer.concat(
      client.log
        .all()
        .slice(since)
        .filter((o) => o.kind === 'received')
        .map((o) => Buffer.from(String(o.detail.hex), 'hex')),
    );
  const hasPuback = () => mqttPacketsIn(received()).some((p) => p.cmd === 'puback');
  let failure: string | undefined;
  try {
    await client.waitAfter(since, 'the PUBACK', (o) => (o.kind === 'received' && hasPuback()) || o.kind === 'closed' || o.kind === 'exit', PUBACK_TIMEOUT_MS);
  } catch (err) {
    failure = (err as Error).message;
  }
  const pubackReceived = hasPuback();
  if (!pubackReceived) failure ??= `the connection closed without a PUBACK; the broker sent: ${mqttPacketsIn(received()).map((p) => p.cmd).join(', ') || 'nothing'}`;
  const closing = client.log.all().length;
  client.close();
  await client.waitAfter(closing, 'the close', (o) => o.kind === 'closed' || o.kind === 'exit', 5_000).catch(() => undefined);
  return {
    ...base,
    handshakeOk: true,
    resumed: outcome.detail.resumed === true,
    earlyDataStatus: typeof outcome.detail.earlyDataStatus === 'string' ? outcome.detail.earlyDataStatus : undefined,
    earlyDataBytes: Number(outcome.detail.earlyDataBytes ?? 0),
    pubackReceived,
    failure,
  };
}
