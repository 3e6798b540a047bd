/**
 * DTLS version downgrade (features/dtls13-downgrade.feature): wearable-0001's client against the
 * cloud's wolfSSL endpoint on the DTLS rig of both placements (topology/dtls-resumption-rig.ts,
 * containers-dtls-resumption.ts), optionally through a link whose on-path attacker rewrites the
 * ClientHello (links/dtls13-offer-strip.ts). Judged from the capture beside the device (hellos,
 * versions, the ServerHello.random sentinel, plaintext alerts) and the two bridges' own events.
 */
import { Given, Then, When } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { readPcap, udpFlows } from '../capture/pcap-reader.ts';
import { DTLS12_VERSION, DTLS13_VERSION, analyseDtls13Flow, describeDtls13Flights, type Dtls13HandshakeAnalysis, type HelloFacts } from '../analysis/dtls13-handshake.ts';
import { dtlsPlaintextAlerts, dtlsPlaintextHandshakes, type DtlsPlaintextAlert, type DtlsPlaintextHandshake } from '../analysis/dtls-plaintext-records.ts';
import { useDtlsVersion, type DtlsVersion } from '../emulators/dtls/dtls-version.ts';
import { ensureDtlsBridge } from '../emulators/dtls/dtls-bridge-process.ts';
import { ensureWolfsslBridge } from '../emulators/dtls/wolfssl-bridge.ts';
import { downgradeMitm, stripDtls13OfferAttack, type LinkImpairments } from '../links/impairments.ts';
import { DtlsResumptionRig, type DtlsResumptionSpec, type DtlsRigSpec } from '../topology/dtls-resumption-rig.ts';
import { ContainersDtlsResumptionRig } from '../topology/containers-dtls-resumption.ts';
import { currentPlacement } from '../topology/placements.ts';
import type { TestbedWorld } from './world.ts';

interface DowngradeState {
  deviceVersion?: 'dtls1.2';
  link: LinkImpairments;
  outcome?: { ok: true } | { ok: false; error: string };
  analyses?: Dtls13HandshakeAnalysis[];
  alerts?: DtlsPlaintextAlert[];
  plaintextHandshakes?: DtlsPlaintextHandshake[];
  serverHandshakes?: Readonly<Record<string, unknown>>[];
  attackerEdits?: number;
}
const states = new WeakMap<TestbedWorld, DowngradeState>();
function state(world: TestbedWorld): DowngradeState {
  const s = states.get(world);
  if (!s) throw new Error('no DTLS endpoint declared; start with "Given the cloud\'s DTLS endpoint is DTLS 1.3-only and wearable-0001 connects with …"');
  return s;
}

/** A reading-sized datagram (the E3 packet is 96 bytes plus the datagram's type byte). */
const READING = new Uint8Array(97).fill(0x5a);

Given("the cloud's DTLS endpoint is {dtls server versions} and {device} connects with {dtls client offer}", async function (this: TestbedWorld, versions: '1.3' | '1.2-1.3', _device: string, offer: 'dtls1.2-only' | 'dtls1.3-and-1.2') {
  // The endpoint is always wolfSSL (DTLS 1.3); a client offering 1.3 and 1.2 is wolfSSL with the same versions.
  useDtlsVersion('dtls1.3', { versions });
  await ensureWolfsslBridge();
  if (offer === 'dtls1.2-only') await ensureDtlsBridge(); // pion, built on the host for both placements
  states.set(this, { ...(offer === 'dtls1.2-only' ? { deviceVersion: 'dtls1.2' as const } : {}), link: {} });
  this.attach(`cloud endpoint: wolfSSL, versions ${versions}; client: ${offer === 'dtls1.2-only' ? 'pion, DTLS 1.2 only' : 'wolfSSL, DTLS 1.3 and 1.2'}`, { mediaType: 'text/plain' });
});

Given('an on-path attacker on the device link hides the DTLS 1.3 offer in every ClientHello', function (this: TestbedWorld) {
  // RFC 8446 §4.1.3's attacker: only the device→cloud direction is edited.
  state(this).link = { clientToServer: [stripDtls13OfferAttack()] };
});

Given("an on-path attacker on the device link hides the DTLS 1.3 offer and answers the cloud's HelloVerifyRequest itself", function (this: TestbedWorld) {
  // links/dtls-downgrade-mitm.ts: the DTLS 1.2 cookie exchange is outside the transcript (RFC 6347 §4.2.1).
  state(this).link = { clientToServer: [downgradeMitm()] };
});

When('{device} tries a DTLS handshake with the cloud and, if it completes, sends a reading', { timeout: 180_000 }, async function (this: TestbedWorld, _device: string) {
  const s = state(this);
  const spec: DtlsRigSpec = { dir: this.dir, rttMs: 0, clientCertificate: false, link: s.link, deviceSessionStore: false, ...(s.deviceVersion ? { deviceVersion: s.deviceVersion } : {}) };
  const rig: DtlsResumptionSpec & { send(p: Uint8Array): void | Promise<void> } = currentPlacement().name === 'containers' ? new ContainersDtlsResumptionRig(spec) : new DtlsResumptionRig(spec);
  try {
    await rig.start();
    try {
      await rig.handshake(15_000);
      s.outcome = { ok: true };
      await rig.send(READING);
    } catch (err) {
      s.outcome = { ok: false, error: (err as Error).message };
    }
    // Let the last datagrams (an alert, the reading) reach the other end before the capture closes.
    await new Promise((r) => setTimeout(r, 500));
    s.serverHandshakes = (await rig.serverEvents()).filter((o) => o.kind === 'handshake').map((o) => o.detail);
  } finally {
    const flows = udpFlows(readPcap(await rig.stop()).packets);
    s.analyses = flows.map((f) => analyseDtls13Flow(f));
    s.alerts = flows.flatMap((f) => dtlsPlaintextAlerts(f));
    s.plaintextHandshakes = flows.flatMap((f) => dtlsPlaintextHandshakes(f));
  }
  this.attach([`handshake: ${s.outcome?.ok ? 'completed' : `failed: ${s.outcome?.error ?? 'not tried'}`}`, ...s.analyses.map((a) => `flow from port ${a.client.port}:\n  ${describeDtls13Flights(a).join('\n  ')}`), `plaintext alerts: ${s.alerts.map((a) => `${a.sender} ${a.level} ${a.name}`).join(', ') || 'none'}`].join('\n'), { mediaType: 'text/plain', fileName: 'dtls-downgrade-flights.txt' });
});

function captured(world: TestbedWorld): { analyses: Dtls13HandshakeAnalysis[]; alerts: DtlsPlaintextAlert[]; shown: string } {
  const s = state(world);
  if (!s.analyses || !s.alerts) throw new Error('no handshake tried yet; add "When wearable-0001 tries a DTLS handshake with the cloud …"');
  assert.ok(s.analyses.length > 0, 'the capture beside the device holds no UDP flow');
  return { analyses: s.analyses, alerts: s.alerts, shown: s.analyses.map((a) => describeDtls13Flights(a).join('\n  ')).join('\n  ---\n  ') };
}

const hellos = (analyses: readonly Dtls13HandshakeAnalysis[], kind: HelloFacts['kind']): HelloFacts[] => analyses.flatMap((a) => a.flights.flatMap((f) => f.hellos)).filter((h) => h.kind === kind);
const hex = (v: number): string => `0x${v.toString(16)}`;

Then("the capture shows {device}'s ClientHello offering only DTLS 1.2", function (this: TestbedWorld, _device: string) {
  const { analyses, shown } = captured(this);
  const offers = hellos(analyses, 'ClientHello');
  assert.ok(offers.length > 0, `no ClientHello in the capture:\n  ${shown}`);
  // A DTLS 1.2 ClientHello has no supported_versions (RFC 6347): the analyser then reports no offered versions.
  for (const h of offers) assert.ok(!h.versions.includes(DTLS13_VERSION), `a ClientHello offered DTLS 1.3 (${h.versions.map(hex).join(', ')}):\n  ${shown}`);
});

Then("the capture beside the device shows {device}'s ClientHello offering DTLS 1.3, as it left before the attacker's edit", async function (this: TestbedWorld, _device: string) {
  const { analyses, shown } = captured(this);
  const offers = hellos(analyses, 'ClientHello');
  assert.ok(offers.length > 0 && offers.every((h) => h.versions.includes(DTLS13_VERSION)), `the device's ClientHellos do not all offer DTLS 1.3 (${offers.map((h) => h.versions.map(hex).join('/')).join('; ')}):\n  ${shown}`);
});

Then('the capture shows the cloud\'s fatal protocol_version alert and no ServerHello', function (this: TestbedWorld) {
  const { analyses, alerts, shown } = captured(this);
  assert.equal(hellos(analyses, 'ServerHello').length, 0, `the cloud answered with a ServerHello:\n  ${shown}`);
  const refusal = alerts.find((a) => a.sender === 'server' && a.level === 'fatal' && a.name.startsWith('protocol_version'));
  assert.ok(refusal, `no fatal protocol_version alert from the cloud; alerts seen: ${alerts.map((a) => `${a.sender} ${a.level} ${a.name}`).join(', ') || 'none'}:\n  ${shown}`);
});

Then('the capture shows a ServerHello selecting DTLS 1.2 with the downgrade sentinel at the end of its random', function (this: TestbedWorld) {
  const { analyses, shown } = captured(this);
  const answers = hellos(analyses, 'ServerHello');
  assert.ok(answers.length > 0, `no ServerHello in the capture:\n  ${shown}`);
  for (const h of answers) {
    assert.deepEqual(h.versions, [DTLS12_VERSION], `a ServerHello selected ${h.versions.map(hex).join(', ')}, not DTLS 1.2 (0xfefd):\n  ${shown}`);
    // RFC 8446 §4.1.3: a (D)TLS 1.3-capable server negotiating 1.2 ends its random with "DOWNGRD\x01".
    assert.equal(h.downgradeSentinel, true, `the DTLS 1.2 ServerHello's random does not end with "DOWNGRD\\x01":\n  ${shown}`);
  }
});

Then('the cloud answered with a DTLS 1.2 HelloVerifyRequest and no ServerHello', function (this: TestbedWorld) {
  const { analyses, shown } = captured(this);
  const fromCloud = (state(this).plaintextHandshakes ?? []).filter((h) => h.sender === 'server').map((h) => h.message);
  // RFC 6347 §4.2.1: the DTLS 1.2 cookie exchange; DTLS 1.3 has none (RFC 9147 §5.1 uses an HRR).
  assert.ok(fromCloud.includes('HelloVerifyRequest'), `the cloud sent no HelloVerifyRequest; its plaintext handshake messages: ${fromCloud.join(', ') || 'none'}:\n  ${shown}`);
  assert.equal(hellos(analyses, 'ServerHello').length + hellos(analyses, 'HelloRetryRequest').length, 0, `the cloud also sent a ServerHello or HelloRetryRequest:\n  ${shown}`);
});

Then("{device}'s client aborted with its own reason {string} and sent a fatal {word} alert", function (this: TestbedWorld, _device: string, reason: string, alert: string) {
  const s = state(this);
  const { alerts, shown } = captured(this);
  assert.ok(s.outcome && !s.outcome.ok, `the handshake completed: the client did not abort:\n  ${shown}`);
  assert.match(s.outcome.error, new RegExp(`failed: ${reason}\\b`), `the client's own reason is not "${reason}": ${s.outcome.error}`);
  const sent = alerts.filter((a) => a.sender === 'client');
  assert.ok(sent.some((a) => a.level === 'fatal' && a.name.startsWith(alert)), `the client sent no fatal ${alert} alert; its alerts on the wire: ${sent.map((a) => `${a.level} ${a.name}`).join(', ') || 'none'}:\n  ${shown}`);
});

Then("{device}'s client aborted with its own reason {string} and sent no alert", function (this: TestbedWorld, _device: string, reason: string) {
  const s = state(this);
  const { alerts, shown } = captured(this);
  assert.ok(s.outcome && !s.outcome.ok, `the handshake completed: the client did not abort:\n  ${shown}`);
  assert.match(s.outcome.error, new RegExp(`failed: ${reason}\\b`), `the client's own reason is not "${reason}": ${s.outcome.error}`);
  const sent = alerts.filter((a) => a.sender === 'client');
  assert.deepEqual(sent.map((a) => `${a.level} ${a.name}`), [], `the client sent alerts:\n  ${shown}`);
});

Then('the handshake failed, and nothing reached the cloud: no handshake completed there and no application data on the wire', function (this: TestbedWorld) {
  const s = state(this);
  const { analyses, shown } = captured(this);
  assert.ok(s.outcome && !s.outcome.ok, `the client completed the handshake:\n  ${shown}`);
  assert.deepEqual(s.serverHandshakes ?? [], [], `the cloud's bridge completed a handshake: ${JSON.stringify(s.serverHandshakes)}`);
  const data = analyses.flatMap((a) => a.flights.filter((f) => f.direction === 'client-to-server').flatMap((f) => f.messages)).filter((m) => m.startsWith('application data') || m === 'early data');
  assert.deepEqual(data, [], `the device sent application data records:\n  ${shown}`);
});

Then('the session is {dtls version}: the cloud completed a handshake of that version and the reading travelled in one of its records', function (this: TestbedWorld, version: DtlsVersion) {
  const name = version === 'dtls1.3' ? 'DTLS 1.3' : 'DTLS 1.2';
  const s = state(this);
  const { analyses, shown } = captured(this);
  assert.ok(s.outcome?.ok, `the handshake failed: ${s.outcome && !s.outcome.ok ? s.outcome.error : 'not tried'}`);
  const done = s.serverHandshakes ?? [];
  assert.equal(done.length, 1, `the cloud's bridge reported ${done.length} handshakes, expected 1`);
  assert.equal(done[0]?.version, name, `the cloud's bridge reports ${String(done[0]?.version)}: ${JSON.stringify(done[0])}`);
  assert.deepEqual(hellos(analyses, 'ServerHello').map((h) => h.versions), [[version === 'dtls1.3' ? DTLS13_VERSION : DTLS12_VERSION]], `the ServerHello did not select ${name}:\n  ${shown}`);
  // DTLS 1.3 application data travels under unified headers (RFC 9147 §4), DTLS 1.2's in content-type-23 records.
  const wanted = version === 'dtls1.3' ? 'application data' : 'application data (DTLS 1.2 record)';
  const records = analyses.flatMap((a) => a.flights.filter((f) => f.direction === 'client-to-server').flatMap((f) => f.messages)).filter((m) => m === wanted);
  assert.ok(records.length >= 1, `no ${name} application data record from the device:\n  ${shown}`);
});
