/**
 * Steps of the handshake scenarios: session resumption, HelloRetryRequest and Nagle penalties,
 * each asserted from the capture taken beside the device (analysis/handshake-analyser.ts), and
 * the energy model fed with the round trips measured there.
 */
import { After, Given, Then, When, defineParameterType, type DataTable } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readPcap } from '../capture/pcap-reader.ts';
import { HANDSHAKE_TYPES, analyseCapture, describeFlights, type HandshakeAnalysis } from '../analysis/handshake-analyser.ts';
import { ladderSvg } from '../analysis/ladder-svg.ts';
import { nagleConnectTimesChart, resumptionConnectTimesChart } from '../analysis/report-charts.ts';
import { serverHandshakeMessagesPerConnection, sessionTicketsPerConnection } from '../analysis/session-tickets.ts';
import { deviceProfile, handshakeCost, round, type HandshakeKind } from '../emulators/energy-model.ts';
import { connackHold, median, type ConnackHold } from '../analysis/nagle-hold.ts';
import { handshakeRig, type DeviceConnection, type HandshakeRig, type TlsVersion } from '../topology/handshake-rig.ts';
import { resumption } from '../topology/recipes.ts';
import { currentPlacement } from '../topology/placements.ts';
import { skip } from './skip.ts';
import { join } from 'node:path';
import type { TestbedWorld } from './world.ts';
import { attachSvg } from './attachments.ts';
import { attachEvidenceFiles } from './evidence.ts';
import { CLOUD_NAME, GATEWAY_NAME } from '../certs/genuine-profiles.ts';

/** The Certificate handshake message (RFC 8446 §4.4.2). */
const HANDSHAKE_CERTIFICATE = 11;

defineParameterType({
  name: 'tls version',
  regexp: /TLS 1\.[0-9]/,
  transformer: (text: string): TlsVersion => {
    if (text !== 'TLS 1.2' && text !== 'TLS 1.3') throw new Error(`unsupported TLS version "${text}"; use TLS 1.2 or TLS 1.3`);
    return text;
  },
});


/**
 * A step that brings a rig up: on the containers placement that is a broker, a link and a device
 * container with a capture sidecar (about a minute on a shared machine), beyond the default.
 */
const RIG_STEP = { timeout: 5 * 60_000 };

interface HandshakeState {
  rttMs: number;
  version: TlsVersion;
  resumption: 'tickets' | 'session-ids';
  brokerTls: Record<string, unknown>;
  viaGateway: boolean;
  /** The device the scenario names; the rig provisions it (one device per handshake scenario). */
  device?: string;
  rig?: HandshakeRig;
  /** Nagle scenario: CONNACK holds per broker setting, from that rig's capture. */
  nagle?: { noDelay: ConnackHold[]; nagle: ConnackHold[] };
  analyses?: HandshakeAnalysis[];
}
const states = new WeakMap<object, HandshakeState>();
function state(world: object): HandshakeState {
  let s = states.get(world);
  if (!s) states.set(world, (s = { rttMs: 0, version: 'TLS 1.3', resumption: 'tickets', brokerTls: {}, viaGateway: false }));
  return s;
}

/** Names the scenario's device; a second, different name is refused rather than silently ignored. */
function useDevice(world: TestbedWorld, device: string): string {
  const s = state(world);
  if (s.device !== undefined && s.device !== device) throw new Error(`this scenario's rig is provisioned for ${s.device}; it cannot also connect ${device} (one device per handshake scenario: name the same device in every step)`);
  s.device = device;
  return device;
}

async function rig(world: TestbedWorld, device: string): Promise<HandshakeRig> {
  const s = state(world);
  useDevice(world, device);
  if (!s.rig) {
    s.rig = handshakeRig({ dir: world.dir, rttMs: s.rttMs, tlsVersion: s.version, resumption: s.resumption, brokerTls: s.brokerTls, viaGateway: s.viaGateway, deviceIds: [device] });
    await s.rig.start();
  }
  return s.rig;
}

/**
 * Connects `device` and checks that it is the one the far end verified: the broker's record of
 * the client certificate, or behind a gateway the gateway's (the broker sees the gateway there).
 */
async function connectAs(r: HandshakeRig, device: string, serverName: string, options: { reconnectPeriodMs?: number } = {}): Promise<DeviceConnection> {
  const c = await r.connect(device, serverName, options);
  const { verifier, peer } = await r.lastVerifiedPeer();
  assert.equal(peer, device, `the ${verifier} verified the certificate of ${String(peer)}, not of ${device}`);
  return c;
}

/** Stops the rig (once) and analyses every connection in its capture; attaches the ladders. */
async function analyses(world: TestbedWorld): Promise<HandshakeAnalysis[]> {
  const s = state(world);
  if (s.analyses) return s.analyses;
  if (!s.rig) throw new Error('no connection was made; add a When step such as "When wearable-0001 connects, disconnects and connects again"');
  const path = await s.rig.stop();
  const pcap = readPcap(path);
  assert.deepEqual(pcap.problems, [], `capture ${path} is damaged`);
  s.analyses = analyseCapture(pcap.packets);
  s.analyses.forEach((a, i) => {
    attachSvg(world, ladderSvg(`Connection ${i + 1}: ${a.protocol} ${a.kind} handshake over a ${s.rttMs} ms RTT link`, a), `ladder-${i + 1}.svg`);
    world.attach(describeFlights(a).join('\n'), { mediaType: 'text/plain', fileName: `flights-${i + 1}.txt` });
  });
  attachEvidenceFiles(world, world.dir, { captures: [{ path }], keyLog: s.rig.keyLogPath });
  return s.analyses;
}

function nth(list: HandshakeAnalysis[], n: number): HandshakeAnalysis {
  const a = list[n - 1];
  if (!a) throw new Error(`the capture holds ${list.length} connection(s); there is no connection ${n}`);
  return a;
}

// Tagged: only these scenarios have the rig; an untagged hook is a step in every scenario's report (cli/step-hook-tags.test.ts).
After({ tags: '@resumption or @nagle' }, async function (this: TestbedWorld) {
  await states.get(this)?.rig?.stop();
});

Given('a cloud broker with mutual TLS behind an emulated link with a {int} ms round trip', function (this: TestbedWorld, rttMs: number) {
  state(this).rttMs = rttMs;
});

Given('a cloud broker with mutual TLS on loopback, no emulated delay', function (this: TestbedWorld) {
  state(this).rttMs = 0;
});

Given('{device} speaks {tls version} and keeps its TLS sessions', function (this: TestbedWorld, device: string, version: TlsVersion) {
  useDevice(this, device);
  state(this).version = version;
});

Given('the broker resumes TLS 1.2 sessions by session ID only, with tickets turned off', function (this: TestbedWorld) {
  state(this).resumption = 'session-ids';
});

Given('the broker accepts only the P-256 key share, while the device offers X25519 first', function (this: TestbedWorld) {
  // Node's client sends one key share, for its first group (X25519); RFC 8446 §4.2.8 makes the
  // server ask again with a HelloRetryRequest.
  state(this).brokerTls.ecdhCurve = 'P-256';
});

When('{device} connects, disconnects and connects again', RIG_STEP, async function (this: TestbedWorld, device: string) {
  const r = await rig(this, device);
  for (let i = 0; i < 2; i++) {
    const c = await connectAs(r, device, CLOUD_NAME);
    // Let the post-handshake tickets arrive before hanging up (they follow CONNACK's flight).
    await new Promise((resolve) => setTimeout(resolve, 100 + state(this).rttMs));
    await c.stop();
  }
});

When('{device} connects to {string}, then to {string}, then to {string} again', RIG_STEP, async function (this: TestbedWorld, device: string, first: string, second: string, third: string) {
  const r = await rig(this, device);
  for (const name of [first, second, third]) {
    const c = await connectAs(r, device, name);
    await new Promise((resolve) => setTimeout(resolve, 100 + state(this).rttMs));
    await c.stop();
  }
});

When('{device} connects', RIG_STEP, async function (this: TestbedWorld, device: string) {
  const r = await rig(this, device);
  const c = await connectAs(r, device, CLOUD_NAME);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await c.stop();
});

When('the broker side resets {device}\'s connection and the wearable reconnects by itself', RIG_STEP, async function (this: TestbedWorld, device: string) {
  const r = await rig(this, device);
  const c = await connectAs(r, device, CLOUD_NAME, { reconnectPeriodMs: 100 });
  await new Promise((resolve) => setTimeout(resolve, 100 + state(this).rttMs));
  assert.equal(await r.resetConnections('the broker side dropped the connection'), 1, 'there was no connection to reset');
  await c.waitForConnacks(2, 10_000);
  await c.stop();
});

Then('the capture shows a full {tls version} handshake, then a resumed one', async function (this: TestbedWorld, version: TlsVersion) {
  const [first, second] = await analyses(this);
  assert.ok(first && second, 'expected two connections in the capture');
  assert.equal(first.protocol, version);
  assert.equal(first.kind, 'full', describeFlights(first).join('\n'));
  assert.equal(second.protocol, version);
  assert.equal(second.clientOfferedResumption, true, 'the device did not offer its session in the second ClientHello');
  assert.equal(second.kind, 'resumed', describeFlights(second).join('\n'));
});

Then('the capture counts {int} round trips to CONNACK for the full handshake and {int} for the resumed one, TCP included', async function (this: TestbedWorld, full: number, resumed: number) {
  const [first, second] = await analyses(this);
  assert.equal(first?.roundTripsToFirstApplicationByte, full, first && first.roundTrips.map((r) => r.summary).join('\n'));
  assert.equal(second?.roundTripsToFirstApplicationByte, resumed, second && second.roundTrips.map((r) => r.summary).join('\n'));
});

// The link delays each direction by half the RTT, so no counted round trip can be answered
// sooner than one RTT after it started: a span shorter than that means the analyser counted
// something that was not a round trip, or the link did not delay. No upper bound is asserted in
// milliseconds (scheduling on a loaded machine stretches it): that the time holds no hidden extra
// round trip is shown by the count from the packet order, and by the in-run comparison of full
// and resumed connections.
Then('every connection took at least its round trips × {int} ms to CONNACK, each counted round trip spanning the link\'s delay', async function (this: TestbedWorld, rtt: number) {
  for (const [i, a] of (await analyses(this)).entries()) {
    const counted = a.roundTrips.slice(0, a.roundTripsToFirstApplicationByte ?? 0);
    assert.equal(counted.length, a.roundTripsToFirstApplicationByte, `connection ${i + 1}: no CONNACK found\n${describeFlights(a).join('\n')}`);
    for (const r of counted) {
      const spanMs = Number(r.answerMicros - r.startMicros) / 1000;
      assert.ok(spanMs >= rtt - 1, `connection ${i + 1}: round trip "${r.summary}" was answered after ${spanMs.toFixed(1)} ms, sooner than the link's ${rtt} ms round trip`);
    }
    const measured = a.timeToFirstApplicationByteMs ?? Number.NaN;
    assert.ok(measured >= counted.length * rtt - 1, `connection ${i + 1}: ${measured.toFixed(1)} ms to CONNACK; ${counted.length} round trips × ${rtt} ms = ${counted.length * rtt} ms`);
  }
});

Then('the resumed connection saves {int} round trip(s) of connect time, measured in this run and reported as a ratio', async function (this: TestbedWorld, saved: number) {
  const [first, second] = await analyses(this);
  const full = first?.timeToFirstApplicationByteMs ?? Number.NaN;
  const resumed = second?.timeToFirstApplicationByteMs ?? Number.NaN;
  const rtt = state(this).rttMs;
  attachSvg(this, resumptionConnectTimesChart({ fullMs: full, resumedMs: resumed, rttMs: rtt }), 'connect-times.svg');
  this.attach(`full ${full.toFixed(1)} ms, resumed ${resumed.toFixed(1)} ms: resumed is ${(full / resumed).toFixed(2)}× faster (${(full - resumed).toFixed(1)} ms saved)`, { mediaType: 'text/plain' });
  // The saving is counted from the packet order; the times, from the same run, only have to
  // agree in direction (a bound in ms would fail on a loaded machine, not on a wrong claim).
  const counted = (first?.roundTripsToFirstApplicationByte ?? Number.NaN) - (second?.roundTripsToFirstApplicationByte ?? Number.NaN);
  assert.equal(counted, saved, `the capture counts ${first?.roundTripsToFirstApplicationByte} round trips to CONNACK full and ${second?.roundTripsToFirstApplicationByte} resumed`);
  if (saved > 0) assert.ok(resumed < full, `the resumed connection took ${resumed.toFixed(1)} ms to CONNACK, the full one ${full.toFixed(1)} ms, though it saved ${saved} round trip(s) of ${rtt} ms`);
});

Then('the resumed server flight is too small to hold the cloud\'s certificate, and carries at least {int} % fewer bytes', async function (this: TestbedWorld, percent: number) {
  const [first, second] = await analyses(this);
  assert.ok(first && second);
  // Cost what the wire shows, not what was hoped for: the second handshake must have resumed.
  assert.equal(first.kind, 'full', describeFlights(first).join('\n'));
  assert.equal(second.kind, 'resumed', describeFlights(second).join('\n'));
  const leaf = new X509Certificate(state(this).rig?.cloudCertificatePem() ?? '').raw.length;
  const resumedBytes = second.handshakeBytes.serverToClient;
  const fullBytes = first.handshakeBytes.serverToClient;
  assert.ok(resumedBytes < leaf, `the resumed server handshake sent ${resumedBytes} bytes; the cloud certificate alone is ${leaf} bytes`);
  const fewer = 100 * (1 - resumedBytes / fullBytes);
  this.attach(`server→client handshake bytes: full ${fullBytes}, resumed ${resumedBytes} (${fewer.toFixed(1)} % fewer); cloud leaf certificate ${leaf} bytes DER`, { mediaType: 'text/plain' });
  assert.ok(fewer >= percent, `only ${fewer.toFixed(1)} % fewer server→client handshake bytes`);
});

// How many NewSessionTicket messages (RFC 8446 §4.6.1) the broker sends is its own choice: the
// table gives each broker's row, and the row of the broker this placement runs is asserted.
Then('decrypted with the key log, the capture shows the broker\'s session tickets after each handshake:', async function (this: TestbedWorld, table: DataTable) {
  const [first, second] = await analyses(this);
  assert.ok(first && second, 'expected two connections in the capture');
  const rig = state(this).rig as HandshakeRig;
  const rows = table.hashes();
  const row = rows.find((r) => r.broker === rig.brokerKind);
  if (!row) throw new Error(`the table has no row for broker "${rig.brokerKind}" (rows: ${rows.map((r) => r.broker).join(', ')}); add one`);
  const expected = [Number(row['after the full handshake']), Number(row['after the resumed handshake'])];
  const seen = await sessionTicketsPerConnection(rig.capturePath, rig.keyLogPath, first.server.port);
  this.attach(`session tickets per connection (tshark, decrypted with ${rig.keyLogPath}): ${seen.map((c, i) => `connection ${i + 1}: ${c.tickets}${c.decrypted ? '' : ' (not decrypted)'}`).join(', ')}; broker ${rig.brokerKind} (${row.server ?? ''})`, { mediaType: 'text/plain' });
  assert.equal(seen.length, 2, `tshark found ${seen.length} TCP connections in the capture, 2 were made`);
  seen.forEach((c, i) => assert.ok(c.decrypted, `connection ${i + 1} was not decrypted by the key log ${rig.keyLogPath}, so its tickets cannot be counted`));
  assert.deepEqual(seen.map((c) => c.tickets), expected, `${rig.brokerKind} sent ${seen.map((c) => c.tickets).join(' and ')} session tickets after the full and the resumed handshake; the table says ${expected.join(' and ')}`);
});

Then('the broker saw the device reconnect and resume its session', async function (this: TestbedWorld) {
  const list = await analyses(this);
  assert.equal(list.length, 2, `expected the first connection and one reconnect, the capture holds ${list.length}`);
  assert.equal(nth(list, 1).kind, 'full');
  assert.equal(nth(list, 2).clientOfferedResumption, true);
  assert.equal(nth(list, 2).kind, 'resumed', describeFlights(nth(list, 2)).join('\n'));
});

Then('the second ClientHello asks for {string} and offers no session, while the third, back to {string}, resumes', async function (this: TestbedWorld, name: string, firstName: string) {
  const list = await analyses(this);
  assert.equal(list.length, 3, `expected three connections in the capture, found ${list.length}`);
  const second = nth(list, 2);
  assert.equal(second.serverName, name);
  assert.equal(second.clientOfferedResumption, false, 'a session issued for another server name was offered');
  assert.equal(second.kind, 'full');
  // The control: a session was cached all along, and only withheld from the other name.
  const third = nth(list, 3);
  assert.equal(third.serverName, firstName);
  assert.equal(third.clientOfferedResumption, true, `the wearable offered no session back to ${firstName}: nothing was cached, so the second connection proves nothing`);
  assert.equal(third.kind, 'resumed', describeFlights(third).join('\n'));
});

Then('the capture shows a HelloRetryRequest and {int} round trips to CONNACK, one more than without it', async function (this: TestbedWorld, rtts: number) {
  const a = nth(await analyses(this), 1);
  assert.equal(a.helloRetryRequest, true, describeFlights(a).join('\n'));
  assert.equal(a.roundTripsToFirstApplicationByte, rtts, a.roundTrips.map((r) => r.summary).join('\n'));
});

Then('on the {string} profile the measured handshakes cost what the energy model says, and resumption saves energy', async function (this: TestbedWorld, profileName: string) {
  const [first, second] = await analyses(this);
  assert.ok(first && second);
  const profile = deviceProfile(profileName);
  const rtt = state(this).rttMs;
  const version = state(this).version === 'TLS 1.2' ? 'tls12' : 'tls13';
  // The chapter counts TLS round trips only (§17.7 step 1), so TCP's and MQTT's are taken off.
  const tlsRtts = (a: HandshakeAnalysis) => (a.roundTripsToFirstApplicationByte ?? 0) - 2;
  const full = handshakeCost(profile, `${version}-full` as HandshakeKind, tlsRtts(first), rtt);
  const resumed = handshakeCost(profile, `${version}-resumed` as HandshakeKind, tlsRtts(second), rtt);
  const table = [
    `profile ${profile.name} (${profile.source}), ${rtt} ms RTT, TLS round trips measured on the wire`,
    `full:    ${full.roundTrips} RTT + ${full.cryptoMs} ms crypto = ${round(full.totalMs)} ms, ${round(full.millijoules)} mJ ≈ ${Math.round(full.messagesWorth)} messages`,
    `resumed: ${resumed.roundTrips} RTT + ${resumed.cryptoMs} ms crypto = ${round(resumed.totalMs)} ms, ${round(resumed.millijoules)} mJ ≈ ${Math.round(resumed.messagesWorth)} messages`,
    `resumption saves ${round(full.millijoules - resumed.millijoules)} mJ per reconnect (${round(100 * (1 - resumed.millijoules / full.millijoules))} %)`,
  ];
  this.attach(table.join('\n'), { mediaType: 'text/plain', fileName: 'energy.txt' });
  assert.ok(resumed.millijoules < full.millijoules, table.join('\n'));
  // Where the run is the chapter's own case (ESP32, TLS 1.3, 50 ms), the measured round trips must
  // reproduce its figures: 1 RTT + 22 ms crypto = 72 ms, ≈38 mJ (§17.7).
  if (profile.name === 'esp32' && version === 'tls13' && rtt === 50) {
    assert.equal(round(full.totalMs), 72, table.join('\n'));
    assert.equal(Math.round(full.millijoules), 38, table.join('\n'));
  }
});

// The gateway's upstream session cache: the capture is of the gateway→cloud link.
Given('{device} reaches the broker through a gateway that terminates TLS and keeps its upstream {tls version} sessions', function (this: TestbedWorld, device: string, version: TlsVersion) {
  // The recipe's tags do not say there is a gateway: judge the graph this step builds.
  const placement = currentPlacement();
  const reason = placement.cannotRealize(resumption({ broker: placement.defaultBroker, transport: 'tls', rttMs: state(this).rttMs, viaGateway: true }));
  if (reason) return skip(this, reason);
  useDevice(this, device);
  state(this).viaGateway = true;
  state(this).version = version;
  return undefined;
});

// Judged from the broker's own ServerHellos on the captured gateway→cloud link, the same way on
// both placements: a full TLS 1.3 handshake selects no pre_shared_key and sends the server's
// Certificate; a resumed one selects the gateway's PSK (RFC 8446 §4.2.11) and sends no
// Certificate (§4.4.2: none with PSK-only authentication). The Certificate travels encrypted, so
// it is counted in the capture decrypted with the run's key log. Who resumed is the broker's word:
// the client-certificate identity it admitted on each connection.
Then('the broker\'s ServerHellos on the gateway\'s link show a full handshake, then the gateway\'s session resumed, and the broker admitted the gateway\'s certificate both times', async function (this: TestbedWorld) {
  const list = await analyses(this);
  assert.equal(list.length, 2, `expected the gateway's two upstream connections in the capture, found ${list.length}`);
  const [first, second] = [nth(list, 1), nth(list, 2)];
  const rig = state(this).rig as HandshakeRig;
  const sent = await serverHandshakeMessagesPerConnection(rig.capturePath, rig.keyLogPath, first.server.port);
  assert.equal(sent.length, 2, `tshark found ${sent.length} TCP connections in the capture, 2 were made`);
  sent.forEach((c, i) => assert.ok(c.decrypted, `connection ${i + 1} was not decrypted by the key log ${rig.keyLogPath}: the gateway's upstream keys are missing from it, so the broker's Certificate cannot be looked for`));
  const certificate = (i: number) => (sent[i]?.types ?? []).includes(HANDSHAKE_CERTIFICATE);
  const seen = sent.map((c, i) => `connection ${i + 1}: ${c.types.map((t) => HANDSHAKE_TYPES[t] ?? t).join(', ')}`).join('\n');
  this.attach(`handshake messages the broker sent (tshark, decrypted with ${rig.keyLogPath}):\n${seen}`, { mediaType: 'text/plain' });
  assert.equal(first.kind, 'full', `the first ServerHello selected a pre_shared_key: the gateway resumed a session it cannot have had\n${describeFlights(first).join('\n')}`);
  assert.ok(certificate(0), `the broker sent no Certificate in the full handshake\n${seen}`);
  const offered = second.clientOfferedResumption ? 'though the gateway offered its session' : 'the gateway offered no session in its second ClientHello: its upstream session cache kept nothing';
  assert.equal(second.kind, 'resumed', `the broker's second ServerHello selected no pre_shared_key, a full handshake (${offered})\n${describeFlights(second).join('\n')}`);
  assert.ok(!certificate(1), `the broker sent its Certificate in the resumed handshake\n${seen}`);
  const admitted = await rig.brokerAdmittedIdentities();
  assert.deepEqual(admitted, [GATEWAY_NAME, GATEWAY_NAME], `the broker (${rig.brokerKind}) admitted ${admitted.length ? admitted.join(' and ') : 'nobody'}; the gateway's certificate is ${GATEWAY_NAME}, on both connections`);
});

// Nagle's algorithm on the broker (RFC 896) against the device's delayed ACK (RFC 1122 §4.2.3.2).
// Both brokers run in this scenario, one after the other, with every handshake full.
When('{device} makes {int} full TLS 1.3 handshakes with a broker that sets noDelay, and {int} with one that leaves Nagle on', { timeout: 2 * RIG_STEP.timeout }, async function (this: TestbedWorld, device: string, withNoDelay: number, withNagle: number) {
  useDevice(this, device);
  const holdsWith = async (noDelay: boolean, count: number): Promise<ConnackHold[]> => {
    const rig = handshakeRig({ dir: join(this.dir, noDelay ? 'broker-nodelay' : 'broker-nagle'), rttMs: state(this).rttMs, tlsVersion: 'TLS 1.3', keepSessions: false, brokerTls: { noDelay }, deviceIds: [device] });
    await rig.start();
    try {
      for (let i = 0; i < count; i++) {
        const c = await connectAs(rig, device, CLOUD_NAME);
        await new Promise((resolve) => setTimeout(resolve, 100));
        await c.stop();
      }
    } finally {
      await rig.stop();
    }
    const pcap = readPcap(rig.capturePath);
    assert.deepEqual(pcap.problems, [], `capture ${rig.capturePath} is damaged`);
    const list = analyseCapture(pcap.packets);
    assert.equal(list.length, count, `the capture ${rig.capturePath} holds ${list.length} connections, ${count} were made`);
    return list.map((a, i) => {
      assert.equal(a.kind, 'full', `connection ${i + 1} was not a full handshake:\n${describeFlights(a).join('\n')}`);
      const hold = connackHold(a);
      if (typeof hold === 'string') throw new Error(`${hold}\n${describeFlights(a).join('\n')}`);
      return hold;
    });
  };
  const noDelay = await holdsWith(true, withNoDelay);
  const nagle = await holdsWith(false, withNagle);
  state(this).nagle = { noDelay, nagle };
  const line = (h: ConnackHold) => `CONNACK at ${h.timeToConnackMs.toFixed(1)} ms, held ${h.heldMs.toFixed(1)} ms behind ${h.flightRecords.length - 1} ticket record(s)`;
  this.attach(['broker with noDelay:', ...noDelay.map(line), 'broker with Nagle on:', ...nagle.map(line)].join('\n'), { mediaType: 'text/plain', fileName: 'connack-holds.txt' });
});

function nagleHolds(world: object): { noDelay: ConnackHold[]; nagle: ConnackHold[] } {
  const n = state(world).nagle;
  if (!n) throw new Error('no Nagle measurement; add "When wearable-0001 makes 5 full TLS 1.3 handshakes with a broker that sets noDelay, and 5 with one that leaves Nagle on"');
  return n;
}

/** The holds as a list for messages, in ms. */
const list = (holds: readonly ConnackHold[]): string => holds.map((h) => h.heldMs.toFixed(1)).join(', ');

// Both brokers ran in this scenario, so each is judged against the other, never against a
// millisecond bound: a loaded machine stretches both alike.
Then('with noDelay the capture shows CONNACK right behind the session tickets, every hold shorter than any with Nagle on', function (this: TestbedWorld) {
  const { noDelay, nagle } = nagleHolds(this);
  const longest = Math.max(...noDelay.map((h) => h.heldMs));
  const shortestNagle = Math.min(...nagle.map((h) => h.heldMs));
  assert.ok(longest < shortestNagle, `with noDelay CONNACK was held ${list(noDelay)} ms, with Nagle on ${list(nagle)} ms: the holds overlap, so Nagle made no difference`);
});

// "About one delayed-ACK period": the device's delayed ACK (RFC 1122 §4.2.3.2, ≥ 40 ms on Linux)
// releases CONNACK, so the typical Nagle hold is that period, many times the noDelay hold.
Then('with Nagle on the capture shows CONNACK held behind the session tickets, typically at least {int} times as long as with noDelay', function (this: TestbedWorld, factor: number) {
  const { noDelay, nagle } = nagleHolds(this);
  const slow = median(nagle.map((h) => h.heldMs));
  const fast = median(noDelay.map((h) => h.heldMs));
  assert.ok(slow >= factor * fast, `with Nagle on CONNACK was held ${list(nagle)} ms (median ${slow.toFixed(1)}), with noDelay ${list(noDelay)} ms (median ${fast.toFixed(1)}): less than ${factor}× longer`);
});

Then('the time to CONNACK grows by the hold, measured in this run and reported as a ratio', function (this: TestbedWorld) {
  const { noDelay, nagle } = nagleHolds(this);
  const fast = median(noDelay.map((h) => h.timeToConnackMs));
  const slow = median(nagle.map((h) => h.timeToConnackMs));
  const hold = median(nagle.map((h) => h.heldMs)) - median(noDelay.map((h) => h.heldMs));
  attachSvg(this, nagleConnectTimesChart({ noDelayMs: fast, nagleMs: slow }), 'nagle-connect-times.svg');
  this.attach(`time to CONNACK (median): noDelay ${fast.toFixed(1)} ms, Nagle on ${slow.toFixed(1)} ms: ${(slow / fast).toFixed(2)}× slower (+${(slow - fast).toFixed(1)} ms; CONNACK held ${hold.toFixed(1)} ms longer)`, { mediaType: 'text/plain' });
  // The rest of the connection is the same handshake, so the growth is the hold; loopback
  // handshakes spread by several ms from one connection to the next, hence the wide band.
  assert.ok(slow - fast >= hold / 2 && slow - fast <= hold * 1.5, `time to CONNACK grew ${(slow - fast).toFixed(1)} ms, the hold grew ${hold.toFixed(1)} ms`);
});
