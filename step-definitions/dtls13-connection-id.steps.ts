/**
 * DTLS 1.3 Connection IDs across a NAT rebinding (features/dtls13-connection-id.feature), on the
 * stripped-DTLS topology of both placements. Judged from what observers hold: the link's record
 * of the rebinding, the gateway bridge's own events, the wearable's log, the cloud's audit, and
 * the capture beside the wearable (handshakes and their round trips, RFC 9147 §4 headers with
 * the gateway's Connection ID on records towards it).
 */
import { Given, Then } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { readPcap, udpFlows } from '../capture/pcap-reader.ts';
import { DTLS13_VERSION, analyseDtls13Flow, describeDtls13Flights, type Dtls13HandshakeAnalysis } from '../analysis/dtls13-handshake.ts';
import { useDtlsVersion, type DtlsVersion } from '../emulators/dtls/dtls-version.ts';
import { deviceProfile, handshakeCost, round } from '../emulators/energy-model.ts';
import { baseDelayMs, latency, rebind } from '../links/impairments.ts';
import { dtlsPath } from './dtls.steps.ts';
import { speakDtls } from './dtls13.steps.ts';
import type { TestbedWorld } from './world.ts';

/** Simulated seconds per wall second in these scenarios (see the Given below). */
const CID_SPEEDUP = 100;

/** The wolfSSL bridge server's receive Connection ID: 2 bytes (wolfssl-bridge/src/dtls-server.c SERVER_CID_LEN). */
const SERVER_CID_BYTES = 2;

Given('{device} handshakes again when a reading goes unacknowledged {int} times', function (this: TestbedWorld, _device: string, sends: number) {
  // Checked against the resend budget by the wearable itself (emulators/dtls/dtls-wearable.ts).
  this.dtlsReconnectAfterSends = sends;
});

Given('the device link has a {int} ms round trip and its NAT gives the device a new UDP port after {int} datagrams', function (this: TestbedWorld, rttMs: number, datagrams: number) {
  if (!Number.isInteger(rttMs) || rttMs < 0 || rttMs > 1_000) throw new Error(`the device link's round trip must be 0..1000 ms, got ${rttMs}`);
  const oneWay = latency({ ms: rttMs / 2 });
  this.deviceLinkImpairments = { clientToServer: [oneWay, rebind({ afterDatagrams: datagrams })], serverToClient: [oneWay], seed: 42 };
});

Given('the wearables reach the cloud over {dtls version} through a gateway that strips DTLS, {connection ids}', async function (this: TestbedWorld, version: DtlsVersion, connectionIds: boolean) {
  if (version !== 'dtls1.3') throw new Error('Connection IDs are tested over DTLS 1.3 (the wolfSSL bridge); the pion DTLS 1.2 bridge here negotiates none');
  await speakDtls(this, version);
  // RFC 9146 / RFC 9147 §9: both bridges (wearable and gateway) negotiate a CID, or neither does.
  useDtlsVersion('dtls1.3', { connectionId: connectionIds });
  this.attach(`Connection IDs: ${connectionIds ? 'on' : 'off'}`, { mediaType: 'text/plain' });
  dtlsPath(this, 'dtls-stripping-gateway');
  // A reading (and a resend) every 300 ms rather than 100 ms: "4 unacknowledged sends" is then
  // 1.2 s of silence, longer than the acknowledgement path (gateway, broker, cloud service and
  // back) takes on a loaded 2-core host, so only a dead association makes the wearable reconnect.
  // The 8-send budget (2.4 s) stays inside the cloud's ±300 s window (±3 s of wall time here).
  this.speedup = CID_SPEEDUP;
});

Then('the {word} link gave the device a new port once, mid-session', async function (this: TestbedWorld, link: string) {
  const observations = await (await this.topology()).observations(`link:${link}`);
  const rebinds = observations.filter((o) => o.kind === 'rebind');
  assert.equal(rebinds.length, 1, `the ${link} link rebound ${rebinds.length} times, expected once: ${rebinds.map((o) => o.summary).join('; ') || 'the scenario did not rebind'}`);
  const at = observations.indexOf(rebinds[0] as (typeof observations)[number]);
  const after = observations.slice(at).filter((o) => o.kind === 'datagram' && o.detail.direction === 'client-to-server').length;
  assert.ok(after > 0, `the device sent nothing through the ${link} link after the rebinding: it was not mid-session`);
  this.attach(`${link}: ${rebinds[0]?.summary}; ${after} device datagrams after it`, { mediaType: 'text/plain' });
});

Then("the gateway's DTLS bridge moved {device}'s session to its new address {int} time(s) and completed {int} handshake(s)", async function (this: TestbedWorld, deviceId: string, moves: number, handshakes: number) {
  const observations = await (await this.topology()).observations('gateway');
  const moved = observations.filter((o) => o.kind === 'device-address-changed');
  const completed = observations.filter((o) => o.kind === 'device-dtls');
  const shown = [...moved, ...completed].map((o) => o.summary).join('\n  ');
  assert.equal(moved.length, moves, `the gateway's bridge moved a session ${moved.length} times, expected ${moves}:\n  ${shown}`);
  assert.equal(completed.length, handshakes, `the gateway's bridge completed ${completed.length} DTLS handshakes, expected ${handshakes}:\n  ${shown}`);
  for (const h of completed) assert.match(h.summary, new RegExp(deviceId), `a handshake not from ${deviceId}: ${h.summary}`);
});

Then('{device} handshook again {int} time(s)', async function (this: TestbedWorld, deviceId: string, times: number) {
  const log = await (await this.topology()).observations(`wearable:${deviceId}`);
  const again = log.filter((o) => o.kind === 'dtls-handshake' && o.detail.reconnect === true);
  const asked = log.filter((o) => o.kind === 'dtls-reconnect' || (o.kind === 'dtls-error' && o.detail.reconnect === true));
  assert.equal(again.length, times, `${deviceId} completed ${again.length} handshakes after reconnecting, expected ${times}:\n  ${asked.concat(again).map((o) => o.summary).join('\n  ') || 'it never reconnected'}`);
});

const analysed = new WeakMap<TestbedWorld, Dtls13HandshakeAnalysis[]>();

/** Each flow of the capture beside the wearable, in capture order, parsed with the gateway's CID length (once per scenario). */
async function deviceLinkHandshakes(world: TestbedWorld, link: string): Promise<Dtls13HandshakeAnalysis[]> {
  const known = analysed.get(world);
  if (known) return known;
  const evidence = await world.finish();
  const capture = evidence?.captures.find((c) => c.link === link);
  if (!capture) throw new Error(`no capture for link "${link}"; links captured: ${evidence?.captures.map((c) => c.link).join(', ')}`);
  const analyses = udpFlows(readPcap(capture.path).packets).map((f) => analyseDtls13Flow(f, SERVER_CID_BYTES));
  analysed.set(world, analyses);
  world.attach(analyses.map((a) => `device port ${a.client.port}:\n  ${describeDtls13Flights(a).join('\n  ')}`).join('\n'), { mediaType: 'text/plain', fileName: `${link}-flights.txt` });
  return analyses;
}

const serverHellos = (a: Dtls13HandshakeAnalysis): number => a.flights.flatMap((f) => f.hellos).filter((h) => h.kind === 'ServerHello').length;

Then('the {word} capture shows {int} full DTLS 1.3 handshake(s), each from its own device port', async function (this: TestbedWorld, link: string, expected: number) {
  const analyses = await deviceLinkHandshakes(this, link);
  const shown = analyses.map((a) => `port ${a.client.port}: ${describeDtls13Flights(a).slice(0, 6).join(' | ')}`).join('\n  ');
  const total = analyses.reduce((n, a) => n + serverHellos(a), 0);
  assert.equal(total, expected, `the capture holds ${total} ServerHellos (handshakes), expected ${expected}:\n  ${shown}`);
  assert.equal(analyses.length, expected, `the wearable used ${analyses.length} UDP ports, expected one per handshake (${expected}):\n  ${shown}`);
  for (const a of analyses) {
    assert.equal(a.selectedVersion, DTLS13_VERSION, `port ${a.client.port}: the ServerHello did not select DTLS 1.3:\n  ${shown}`);
    assert.equal(a.resumed, false, `port ${a.client.port}: a resumed handshake, not a full one:\n  ${shown}`);
    assert.deepEqual(a.problems, [], `port ${a.client.port}: records the parser could not read (a Connection ID of another length?):\n  ${shown}`);
  }
});

/**
 * The energy model (emulators/energy-model.ts, §17.7) fed with the round trips counted in this
 * run's capture: each handshake after the first was paid for by the rebinding. The link's RTT is
 * the scenario's own; the crypto is a full handshake's.
 */
Then('on the {string} profile the rebinding cost {int} extra DTLS 1.3 handshake(s), by the round trips in the capture', async function (this: TestbedWorld, profileName: string, extra: number) {
  const profile = deviceProfile(profileName);
  const analyses = await deviceLinkHandshakes(this, 'device-gateway');
  const rttMs = baseDelayMs(this.deviceLinkImpairments?.clientToServer) + baseDelayMs(this.deviceLinkImpairments?.serverToClient);
  const [first, ...later] = analyses;
  assert.ok(first?.handshakeRoundTrips !== undefined, `no complete first handshake in the capture:\n  ${first ? describeDtls13Flights(first).join('\n  ') : 'no flow'}`);
  const cost = (a: Dtls13HandshakeAnalysis) => handshakeCost(profile, 'tls13-full', a.handshakeRoundTrips ?? 0, rttMs);
  const firstCost = cost(first);
  const extraCosts = later.map(cost);
  const extraMj = extraCosts.reduce((n, c) => n + c.millijoules, 0);
  const table = [
    `profile ${profile.name}, ${rttMs} ms RTT, DTLS 1.3 round trips counted in the capture (ClientHello to the client's Finished)`,
    `first handshake:  ${firstCost.roundTrips} RTT + ${firstCost.cryptoMs} ms crypto = ${round(firstCost.totalMs)} ms, ${round(firstCost.millijoules)} mJ ≈ ${Math.round(firstCost.messagesWorth)} messages`,
    ...extraCosts.map((c, i) => `after rebinding ${i + 1}: ${c.roundTrips} RTT + ${c.cryptoMs} ms crypto = ${round(c.totalMs)} ms, ${round(c.millijoules)} mJ ≈ ${Math.round(c.messagesWorth)} messages`),
    `the rebinding cost ${extraCosts.length} extra handshake(s): ${round(extraMj)} mJ, ${round(extraMj / firstCost.millijoules, 2)}× the first handshake`,
  ];
  this.attach(table.join('\n'), { mediaType: 'text/plain', fileName: 'rebinding-energy.txt' });
  assert.equal(extraCosts.length, extra, table.join('\n'));
  // A handshake again is a full one: the same round trips as the first, so the same energy.
  for (const c of extraCosts) assert.equal(c.roundTrips, firstCost.roundTrips, `a handshake after the rebinding took ${c.roundTrips} round trips, the first ${firstCost.roundTrips}:\n${table.join('\n')}`);
});
