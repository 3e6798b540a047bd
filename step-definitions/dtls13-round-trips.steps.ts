/**
 * DTLS 1.3 round trips on a delaying link (features/dtls13-round-trips.feature), read from the
 * capture beside the device: the resumption rig of the DTLS 1.2 scenarios (both placements),
 * with wolfSSL bridges and the scenario's DTLS 1.3 knobs (HRR cookie, 0-RTT). What counts is what
 * the device waits for before its first reading leaves: server flights before the first flight
 * that carries application or early data (analysis/dtls13-handshake.ts).
 */
import { Given, Then, When } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { readPcap, udpFlows } from '../capture/pcap-reader.ts';
import { analyseDtls13Flow, describeDtls13Flights, type Dtls13HandshakeAnalysis } from '../analysis/dtls13-handshake.ts';
import { dtls13LadderSvg } from '../analysis/ladder-svg.ts';
import { attachSvg } from './attachments.ts';
import { useDtlsVersion } from '../emulators/dtls/dtls-version.ts';
import { ensureWolfsslBridge } from '../emulators/dtls/wolfssl-bridge.ts';
import { DtlsResumptionRig, type DtlsHandshakeEvent, type DtlsResumptionSpec } from '../topology/dtls-resumption-rig.ts';
import { ContainersDtlsResumptionRig } from '../topology/containers-dtls-resumption.ts';
import { currentPlacement } from '../topology/placements.ts';
import type { TestbedWorld } from './world.ts';

interface RoundTripState {
  rttMs: number;
  earlyData: boolean;
  rig?: DtlsResumptionSpec;
  handshakes: DtlsHandshakeEvent[];
  analyses?: Dtls13HandshakeAnalysis[];
  /** The cloud bridge's handshake events, read before the rig stops. */
  serverHandshakes?: Readonly<Record<string, unknown>>[];
}
const states = new WeakMap<TestbedWorld, RoundTripState>();
function state(world: TestbedWorld): RoundTripState {
  const s = states.get(world);
  if (!s) throw new Error('no DTLS 1.3 link declared; start with "Given wearable-0001 speaks DTLS 1.3 over a UDP link with a 50 ms round trip …"');
  return s;
}

/** A reading-sized datagram, as the wearable's would be (the E3 packet is 96 bytes). */
const READING = new Uint8Array(97).fill(0x5a);

Given("{device} speaks DTLS 1.3 over a UDP link with a {int} ms round trip to the cloud's DTLS endpoint, the HelloRetryRequest cookie {word}, 0-RTT {word}", async function (this: TestbedWorld, _device: string, rttMs: number, cookie: string, zeroRtt: string) {
  if (cookie !== 'on' && cookie !== 'off') throw new Error(`say "the HelloRetryRequest cookie on" or "… off", not "${cookie}"`);
  if (zeroRtt !== 'allowed' && zeroRtt !== 'refused') throw new Error(`say "0-RTT allowed" or "0-RTT refused", not "${zeroRtt}"`);
  // RFC 9147 §5.1 (the cookie) and RFC 8446 §4.2.10 (early data): the server's knobs.
  useDtlsVersion('dtls1.3', { hrrCookie: cookie === 'on', earlyData: zeroRtt === 'allowed' });
  await ensureWolfsslBridge();
  states.set(this, { rttMs, earlyData: zeroRtt === 'allowed', handshakes: [] });
});

async function twoHandshakes(world: TestbedWorld, earlyReading: boolean): Promise<void> {
  const s = state(world);
  const Rig = currentPlacement().name === 'containers' ? ContainersDtlsResumptionRig : DtlsResumptionRig;
  const rig = new Rig({ dir: world.dir, rttMs: s.rttMs, clientCertificate: false });
  s.rig = rig;
  await rig.start();
  s.handshakes.push(await rig.handshake(15_000));
  await sendReading(rig);
  // The NewSessionTicket (RFC 8446 §4.6.1) arrives after the handshake; the reading's answer-less send gives it the time of one RTT.
  await new Promise((r) => setTimeout(r, Math.max(200, s.rttMs * 3)));
  s.handshakes.push(await rig.handshake(15_000, earlyReading ? READING : undefined));
  if (!earlyReading) await sendReading(rig);
  await new Promise((r) => setTimeout(r, Math.max(200, s.rttMs * 2)));
  s.serverHandshakes = (await rig.serverEvents()).filter((o) => o.kind === 'handshake').map((o) => o.detail);
  const capture = await rig.stop();
  s.analyses = udpFlows(readPcap(capture).packets).map((f) => analyseDtls13Flow(f));
  world.attach(s.analyses.map((a, i) => `handshake ${i + 1}:\n  ${describeDtls13Flights(a).join('\n  ')}`).join('\n'), { mediaType: 'text/plain', fileName: 'dtls13-flights.txt' });
  s.analyses.forEach((a, i) => attachSvg(world, dtls13LadderSvg(`Handshake ${i + 1}: DTLS 1.3 ${a.resumed ? 'resumed' : 'full'} over a ${s.rttMs} ms RTT link`, a), `dtls13-ladder-${i + 1}.svg`));
}

async function sendReading(rig: DtlsResumptionSpec): Promise<void> {
  const sender = rig as unknown as { send?: (p: Uint8Array) => void | Promise<void> };
  if (!sender.send) throw new Error('dtls13-round-trips: this placement\'s rig cannot send a reading');
  await sender.send(READING);
}

/** Bringing the rig up in containers on a loaded 2-core host takes most of this; the handshakes themselves take well under a second. */
const RIG_STEP = { timeout: 180_000 };

When('{device} completes a DTLS 1.3 handshake and sends a reading, closes the connection, resumes and sends another', RIG_STEP, async function (this: TestbedWorld, _device: string) {
  await twoHandshakes(this, false);
});

When('{device} completes a DTLS 1.3 handshake and sends a reading, closes the connection, and resumes with the next reading as early data', RIG_STEP, async function (this: TestbedWorld, _device: string) {
  await twoHandshakes(this, true);
});

function analyses(world: TestbedWorld): Dtls13HandshakeAnalysis[] {
  const a = state(world).analyses;
  if (!a) throw new Error('no handshakes yet; add "When wearable-0001 completes a DTLS 1.3 handshake …"');
  assert.equal(a.length, 2, `the capture holds ${a.length} DTLS flows, expected one per handshake (2)`);
  return a;
}

const shown = (a: Dtls13HandshakeAnalysis): string => describeDtls13Flights(a).join('\n  ');

Then('the capture counts {int} round trips before the first reading of the full DTLS 1.3 handshake and {int} for the resumed one', function (this: TestbedWorld, first: number, second: number) {
  const [full, resumed] = analyses(this) as [Dtls13HandshakeAnalysis, Dtls13HandshakeAnalysis];
  assert.equal(full.roundTripsBeforeData, first, `the full handshake: ${full.roundTripsBeforeData} round trips before the first reading, expected ${first}:\n  ${shown(full)}`);
  assert.equal(resumed.roundTripsBeforeData, second, `the resumed handshake: ${resumed.roundTripsBeforeData} round trips before the first reading, expected ${second}:\n  ${shown(resumed)}`);
});

Then('each DTLS 1.3 handshake {word} a HelloRetryRequest', function (this: TestbedWorld, verb: string) {
  if (verb !== 'has' && verb !== 'lacks') throw new Error(`say "has" or "lacks", not "${verb}"`);
  for (const [i, a] of analyses(this).entries()) assert.equal(a.helloRetryRequest, verb === 'has', `handshake ${i + 1} ${a.helloRetryRequest ? 'has' : 'lacks'} a HelloRetryRequest:\n  ${shown(a)}`);
});

Then('the second DTLS 1.3 handshake resumed with the ticket: its ServerHello accepted the pre-shared key', function (this: TestbedWorld) {
  const [full, resumed] = analyses(this) as [Dtls13HandshakeAnalysis, Dtls13HandshakeAnalysis];
  assert.equal(full.resumed, false, `the first handshake already selected a PSK:\n  ${shown(full)}`);
  assert.ok(resumed.pskOffered, `the second ClientHello offered no ticket:\n  ${shown(resumed)}`);
  assert.ok(resumed.resumed, `the second ServerHello did not accept the ticket's PSK (a full handshake):\n  ${shown(resumed)}`);
});

Then('each counted round trip spans the link\'s delay on the wire', function (this: TestbedWorld) {
  const s = state(this);
  for (const [i, a] of analyses(this).entries()) {
    const rt = a.roundTripsBeforeData ?? 0;
    // The link delays each direction by half the RTT: a round trip cannot be shorter on the wire.
    assert.ok((a.msBeforeData ?? 0) >= rt * s.rttMs * 0.95, `handshake ${i + 1}'s first reading left ${a.msBeforeData} ms after its ClientHello: less than ${rt} round trips × ${s.rttMs} ms, so the capture is not of the delaying link`);
  }
});

Then('the resumed reading left sooner after its ClientHello than the full one, in this run', function (this: TestbedWorld) {
  const [full, resumed] = analyses(this) as [Dtls13HandshakeAnalysis, Dtls13HandshakeAnalysis];
  assert.ok((resumed.msBeforeData ?? Infinity) < (full.msBeforeData ?? 0), `the resumed reading left ${resumed.msBeforeData} ms after its ClientHello, the full one ${full.msBeforeData} ms`);
});

Then('the resumed handshake\'s server flights carry at least {int} % fewer bytes than the full one\'s: no certificate', function (this: TestbedWorld, percent: number) {
  const [full, resumed] = analyses(this) as [Dtls13HandshakeAnalysis, Dtls13HandshakeAnalysis];
  const serverBytes = (a: Dtls13HandshakeAnalysis): number => a.flights.slice(0, a.flights.findIndex((f) => f.direction === 'client-to-server' && f.messages.some((m) => m === 'application data' || m === 'early data')) + 1 || undefined).filter((f) => f.direction === 'server-to-client').reduce((n, f) => n + f.wireBytes, 0);
  const f = serverBytes(full);
  const r = serverBytes(resumed);
  assert.ok(r <= f * (1 - percent / 100), `the resumed handshake's server flights carry ${r} bytes, the full one's ${f}: not ${percent} % fewer\n  full:\n  ${shown(full)}\n  resumed:\n  ${shown(resumed)}`);
});

Then('the resumed reading travelled as early data in the ClientHello\'s flight', function (this: TestbedWorld) {
  const [full, resumed] = analyses(this) as [Dtls13HandshakeAnalysis, Dtls13HandshakeAnalysis];
  assert.equal(full.earlyDataRecords, 0, `the full handshake sent early data:\n  ${shown(full)}`);
  const first = resumed.flights[0];
  // RFC 9147 §4 / §6.1: epoch 1 records are 0-RTT data; here they ride with the ClientHello.
  assert.ok(first?.messages.includes('ClientHello') && first.messages.includes('early data'), `the resumed handshake's first flight carries no early data:\n  ${shown(resumed)}`);
});

/**
 * wolfSSL 5.5.4 reports the early data "accepted" after a cookie HelloRetryRequest made the server
 * drop the records sent before it (RFC 8446 §4.2.10: after an HRR the server must skip early
 * data). The bridge counts what really arrived; the capture shows the records that were sent.
 */
Then('the resumed handshake\'s first flight carried early data and the cloud answered with a HelloRetryRequest', function (this: TestbedWorld) {
  const [, resumed] = analyses(this) as [Dtls13HandshakeAnalysis, Dtls13HandshakeAnalysis];
  const [first, second] = resumed.flights;
  assert.ok(first?.messages.includes('early data'), `the resumed handshake's first flight carries no early data:\n  ${shown(resumed)}`);
  assert.ok(second?.messages.includes('HelloRetryRequest'), `the cloud's first answer is not a HelloRetryRequest:\n  ${shown(resumed)}`);
});

Then('the cloud\'s bridge says wolfSSL reported the early data {string} while {int} bytes of it arrived', function (this: TestbedWorld, status: string, bytes: number) {
  const events = state(this).serverHandshakes ?? [];
  const resumed = events.at(-1);
  assert.ok(events.length === 2 && resumed, `the cloud's bridge reported ${events.length} handshakes, expected 2`);
  assert.equal(resumed.earlyDataStatus, status, `wolfSSL reported the early data ${String(resumed.earlyDataStatus)}: ${JSON.stringify(resumed)}`);
  assert.equal(resumed.earlyDataBytes, bytes, `${String(resumed.earlyDataBytes)} bytes of early data arrived at the cloud: ${JSON.stringify(resumed)}`);
});
