/**
 * The forged-certificate matrix over DTLS, and openssl s_client as an independent DTLS peer
 * (features/mitm-certificate-validation-dtls.feature, features/dtls-independent-peer.feature).
 * Outcomes are judged from both ends: the victim's own error, and every byte the MITM decrypted.
 */
import { defineParameterType, Given, Then, When } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { findLeaks } from '../analysis/leak-search.ts';
import { dtlsRecords } from '../analysis/dtls-records.ts';
import { containsBytes, readPcap, udpFlows } from '../capture/pcap-reader.ts';
import { E3_PACKET_BYTES } from '../crypto/e3-packet.ts';
import { decodeReadingDatagram } from '../emulators/dtls/reading-datagram.ts';
import { attemptDtlsInterception, checkDtlsClientName, opensslToCloudDtls, type DtlsInterceptionOutcome, type DtlsMatrixClient, type IndependentPeerOutcome } from '../topology/dtls-mitm-rig.ts';
import { attemptDtlsInterceptionInContainers, opensslToCloudDtlsInContainers } from '../topology/containers-dtls-interception.ts';
import { currentPlacement } from '../topology/placements.ts';
import { runDirectory } from './run-context.ts';
import { attachEvidenceFiles, attachInterceptionCell, inRun } from './evidence.ts';
import type { TestbedWorld } from './world.ts';

defineParameterType({
  name: 'dtls client',
  regexp: /"([a-z0-9-]+)" DTLS client/,
  transformer: (name: string): DtlsMatrixClient => checkDtlsClientName(name),
});

interface DtlsMitmState {
  forgedCase?: string;
  outcome?: DtlsInterceptionOutcome;
  peer?: IndependentPeerOutcome;
}
const states = new WeakMap<TestbedWorld, DtlsMitmState>();
const of = (w: TestbedWorld): DtlsMitmState => {
  let s = states.get(w);
  if (!s) states.set(w, (s = {}));
  return s;
};

/** The scenario's interception attempt (also read by the DTLS 1.3 matrix's own steps, dtls13.steps.ts). */
export function outcome(world: TestbedWorld): DtlsInterceptionOutcome {
  const o = of(world).outcome;
  if (!o) throw new Error('no DTLS interception was attempted; add "When the \\"secure\\" DTLS client sends readings through it"');
  return o;
}

function summary(o: DtlsInterceptionOutcome): string {
  return [
    `forged certificate: ${o.forgedCase} — ${o.explain}`,
    `DTLS client: ${o.client}; handshake completed: ${o.attempt.handshakeCompleted}; error: ${o.attempt.error ?? '(none)'}${o.attempt.timedOut ? ' (timed out)' : ''}`,
    `DTLS MITM decrypted ${o.plaintextBytes} plaintext bytes`,
    ...o.mitm.map((p) => `  ${p.role} ${p.kind}: ${p.summary}`),
    `capture: ${o.capture}`,
  ].join('\n');
}

/** The forged certificate the scenario's DTLS MITM presents (also for the DTLS 1.3 matrix, dtls13.steps.ts). */
export function presentForgedCertificate(world: TestbedWorld, forgedCase: string): void {
  of(world).forgedCase = forgedCase;
}

Given("a DTLS MITM on the wearable's path to the cloud presenting the {forged certificate}", function (this: TestbedWorld, forgedCase: string) {
  presentForgedCertificate(this, forgedCase);
});

When('the {dtls client} sends readings through it', async function (this: TestbedWorld, client: DtlsMatrixClient) {
  const forgedCase = of(this).forgedCase;
  if (!forgedCase) throw new Error('say which forged certificate the DTLS MITM presents first ("Given a DTLS MITM … presenting the \\"self-signed\\" forged certificate")');
  // The same attempt on either placement; the steps below judge both outcomes alike.
  const attempt = currentPlacement().name === 'containers' ? attemptDtlsInterceptionInContainers : attemptDtlsInterception;
  const o = await attempt({ runDir: runDirectory(), dir: this.dir, forgedCase, client, readings: 2, timeoutMs: 5_000 });
  of(this).outcome = o;
  this.attach(summary(o), { mediaType: 'text/plain', fileName: 'dtls-interception.txt' });
  attachEvidenceFiles(this, this.dir, { captures: [{ link: 'victim-mitm', path: o.capture }] });
  const read = o.plaintextBytes > 0 || o.mitm.some((p) => p.kind === 'datagram');
  attachInterceptionCell(this, { forgedCase: o.forgedCase, client: o.client, observed: read ? 'intercepted' : 'blocked', reason: o.attempt.error ?? (read ? 'connected to the MITM' : '(no reason given)'), ...(inRun(o.capture) ? { capture: inRun(o.capture) } : {}) });
});

Then('the DTLS interception is {interception result}', function (this: TestbedWorld, expected: 'blocked' | 'intercepted') {
  const o = outcome(this);
  const read = o.mitm.filter((p) => p.kind === 'datagram');
  if (expected === 'blocked') {
    assert.ok(!o.attempt.timedOut, `the ${o.client} DTLS client hung instead of failing:\n${summary(o)}`);
    assert.equal(o.attempt.handshakeCompleted, false, `the ${o.client} DTLS client completed its handshake with the MITM:\n${summary(o)}`);
    assert.ok(o.attempt.error, `the ${o.client} DTLS client stopped without saying why:\n${summary(o)}`);
    assert.equal(o.plaintextBytes, 0, `the DTLS MITM decrypted ${o.plaintextBytes} bytes:\n${summary(o)}`);
    assert.equal(read.length, 0, `the DTLS MITM read datagrams:\n${summary(o)}`);
    return;
  }
  assert.equal(o.attempt.handshakeCompleted, true, `the ${o.client} DTLS client did not complete its handshake:\n${summary(o)}`);
  assert.ok(read.length >= o.sentPackets.length, `the DTLS MITM read ${read.length} datagrams for ${o.sentPackets.length} readings:\n${summary(o)}`);
  // Intercepted, and still E3: every datagram it read is a 96-byte packet the victim sealed.
  read.forEach((p, i) => {
    const decoded = decodeReadingDatagram(p.bytes as Uint8Array);
    assert.ok(!(decoded instanceof Error) && decoded.type === 'reading', `datagram ${i + 1} the MITM read is not a reading datagram`);
    assert.equal(decoded.packet.length, E3_PACKET_BYTES);
    assert.ok(o.sentPackets.some((s) => Buffer.from(s).equals(Buffer.from(decoded.packet))), `datagram ${i + 1} the MITM read is not a packet the victim sealed`);
  });
  const haystacks = o.mitm.flatMap((p, i) => (p.bytes ? [{ label: `mitm record ${i + 1} (${p.kind})`, bytes: p.bytes }] : []));
  assert.deepEqual(findLeaks(o.secrets, haystacks), [], 'the DTLS MITM holds a reading or the patient identity in clear');
});

Then('the DTLS client reports {string}', function (this: TestbedWorld, reason: string) {
  const o = outcome(this);
  if (reason === '-') {
    assert.equal(o.attempt.error, undefined, `the DTLS client reported an error: ${o.attempt.error}`);
    return;
  }
  assert.ok(o.attempt.error?.includes(reason), `expected the ${o.client} DTLS client to report "${reason}"; it reported: ${o.attempt.error ?? '(nothing)'}`);
});

function peer(world: TestbedWorld): IndependentPeerOutcome {
  const p = of(world).peer;
  if (!p) throw new Error('openssl s_client has not run; add "When openssl s_client -dtls1_2 … sends one sealed reading to the cloud\'s DTLS endpoint"');
  return p;
}

When("openssl s_client -dtls1_2 with {device}'s certificate sends one sealed reading to the cloud's DTLS endpoint", async function (this: TestbedWorld, _device: string) {
  const run = currentPlacement().name === 'containers' ? opensslToCloudDtlsInContainers : opensslToCloudDtls;
  const p = await run({ runDir: runDirectory(), dir: this.dir, timeoutMs: 8_000 });
  of(this).peer = p;
  this.attach(`${p.run.command}\nexit ${String(p.run.exitCode)}\n--- stdout ---\n${p.run.stdout}\n--- stderr ---\n${p.run.stderr}`, { mediaType: 'text/plain', fileName: 's_client.txt' });
  attachEvidenceFiles(this, this.dir, { captures: [{ link: 's_client-cloud', path: p.capture }] });
});

Then("s_client verified the cloud's certificate and completed a DTLS 1.2 handshake", function (this: TestbedWorld) {
  const p = peer(this);
  assert.equal(p.run.timedOut, false, 's_client hung');
  assert.equal(p.attempt.handshakeCompleted, true, `s_client did not complete the handshake: ${p.attempt.error ?? p.run.stderr}`);
  assert.match(p.run.stdout, /Protocol\s*: DTLSv1\.2/, 's_client did not report DTLSv1.2');
  assert.match(p.run.stdout, /Verify return code: 0 \(ok\)/, "s_client did not verify the cloud's certificate");
  assert.match(p.run.stdout, /CN = cloud\.testbed\.local/, "s_client did not see the cloud's certificate");
});

Then("the cloud accepted the reading from {device}, delivered under its certificate, and s_client received the acknowledgement", function (this: TestbedWorld, deviceId: string) {
  const p = peer(this);
  const peerDtls = p.cloud.find((o) => o.kind === 'peer-dtls');
  assert.equal(peerDtls?.detail.identity, deviceId, `the cloud's DTLS endpoint saw ${String(peerDtls?.detail.identity)} instead of ${deviceId}'s certificate`);
  const accepted = p.audit.filter((e) => e.verdict === 'accepted');
  assert.equal(p.audit.length, 1, `the cloud audited ${p.audit.length} packets: ${p.audit.map((e) => `${e.verdict} ${e.reason ?? ''}`).join(', ')}`);
  assert.equal(accepted[0]?.deviceId, deviceId);
  assert.ok(accepted[0]?.deliveredBy.includes(deviceId), `delivered by ${String(accepted[0]?.deliveredBy)}`);
  assert.deepEqual(p.acknowledgedSequences, [accepted[0]?.sequence], 's_client did not print the cloud\'s acknowledgement of the reading');
});

Then("the capture beside s_client holds only DTLS records, and never the reading's E3 packet in clear", function (this: TestbedWorld) {
  const p = peer(this);
  const datagrams = udpFlows(readPcap(p.capture).packets).flatMap((f) => f.datagrams);
  assert.ok(datagrams.length > 0, `capture ${p.capture} holds no datagram`);
  datagrams.forEach((d, i) => {
    const records = dtlsRecords(d.bytes);
    assert.ok(!(records instanceof Error), `datagram ${i + 1} is not DTLS: ${records instanceof Error ? records.message : ''}`);
    assert.ok(!containsBytes(d.bytes, p.sentPacket), `datagram ${i + 1} carries the E3 packet in clear`);
  });
});
