/**
 * Steps that check E3 from what observers hold: the gateway's records, the link captures, the
 * run's TLS key log, the cloud's audit log. None of them reads a role's configuration.
 */
import { Then } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { readPcap, reassembleTcpStreams, udpFlows } from '../capture/pcap-reader.ts';
import { E3_PACKET_BYTES } from '../crypto/e3-packet.ts';
import type { E3RejectionReason } from '../crypto/e3-opener.ts';
import { decodeReading } from '../crypto/e3-reading.ts';
import { findLeaks, textSecret, type Haystack, type Secret } from '../analysis/leak-search.ts';
import { decryptedMqttPublishes, serverPort } from '../analysis/tshark.ts';
import { mqttPacketsInClear } from '../analysis/mqtt-in-clear.ts';
import type { AuditEntry } from '../emulators/cloud/cloud-service.ts';
import type { SentReading } from '../topology/topology.ts';
import { readingNumbers } from './parameter-types.ts';
import type { TestbedWorld } from './world.ts';
import { scenarioState } from './scenario-state.ts';

/**
 * Audit entries a "rejects reading N" step accounted for, and that reading's sequence. "Reading
 * N" is always the N-th reading the device logged as sent, and it is matched by that device and
 * that reading's sequence, never by assuming the sequence is N.
 */
const explained = scenarioState<number[] & { target?: bigint }>(() => Object.assign([] as number[], { target: undefined as bigint | undefined }));

function sentBy(world: TestbedWorld, deviceId: string): SentReading[] {
  const sent = world.sent.filter((s) => s.deviceId === deviceId);
  if (sent.length === 0) throw new Error(`${deviceId} has reported nothing in this scenario; add a step like "When ${deviceId} reports 10 readings"`);
  return sent;
}

function reading(world: TestbedWorld, deviceId: string, n: number): SentReading {
  const sent = sentBy(world, deviceId);
  const r = sent[n - 1];
  if (!r) throw new Error(`${deviceId} sent ${sent.length} readings; there is no reading ${n}`);
  return r;
}

function describe(entries: readonly AuditEntry[]): string {
  return entries.map((e) => `#${e.index} ${e.verdict}${e.reason ? ` (${e.reason})` : ''} seq=${String(e.sequence)} ${e.detail}`).join('\n');
}

Then('every reading the gateway forwarded is a 96-byte E3 packet, unchanged', async function (this: TestbedWorld) {
  const topology = await this.topology();
  const publishes = (await topology.observations('gateway')).filter((o) => o.kind === 'mqtt-packet' && o.detail.cmd === 'publish');
  publishes.forEach((p, i) => assert.equal(p.bytes?.length, E3_PACKET_BYTES, `payload ${i + 1} at the gateway is ${p.bytes?.length} bytes, not a ${E3_PACKET_BYTES}-byte E3 packet`));
  // Over UDP a wearable resends a reading whose acknowledgement is late, and a stripping gateway
  // forwards every copy it decrypts: a second copy is legitimate only for a reading the wearable
  // itself logged as resent. Every distinct payload, in order of first arrival, is exactly what
  // the wearables sealed, in the order they sealed it.
  const resent = new Set<string>();
  for (const deviceId of new Set(this.sent.map((s) => s.deviceId))) {
    for (const o of await topology.observations(`wearable:${deviceId}`)) if (o.kind === 'reading-resent') resent.add(`${deviceId}#${String(o.detail.sequence)}`);
  }
  const key = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
  const sentByPayload = new Map(this.sent.map((s) => [key(s.packet), s]));
  const firstCopies: Buffer[] = [];
  const seen = new Set<string>();
  publishes.forEach((p, i) => {
    const k = key(p.bytes as Uint8Array);
    if (!seen.has(k)) {
      seen.add(k);
      firstCopies.push(Buffer.from(p.bytes as Uint8Array));
      return;
    }
    const s = sentByPayload.get(k);
    assert.ok(s && resent.has(`${s.deviceId}#${String(s.sequence)}`), `payload ${i + 1} at the gateway is a second copy of ${s ? `${s.deviceId}'s reading #${s.sequence}` : 'a packet no wearable sealed'}, which the wearable never resent`);
  });
  assert.equal(firstCopies.length, this.sent.length, `the gateway read ${firstCopies.length} distinct PUBLISH payloads (${publishes.length} in all); the wearables sent ${this.sent.length}`);
  firstCopies.forEach((bytes, i) => assert.deepEqual(bytes, Buffer.from((this.sent[i] as SentReading).packet), `payload ${i + 1} at the gateway differs from what the wearable sealed`));
});

// The relay never parses MQTT, so its own records of MQTT packets prove nothing: the bytes it
// held are read here as MQTT, each direction of each connection as one stream from its first byte.
Then('the gateway read no MQTT packet in clear', async function (this: TestbedWorld) {
  const topology = await this.topology();
  const raw = (await topology.observations('gateway')).filter((o) => o.kind === 'raw-bytes' && o.bytes);
  assert.ok(raw.length > 0, 'the gateway relayed no bytes at all: the wearables did not go through it');
  const streams = new Map<string, Uint8Array[]>();
  for (const o of raw) {
    const label = `connection ${String(o.detail.connection)} ${String(o.detail.direction)}`;
    streams.set(label, [...(streams.get(label) ?? []), o.bytes as Uint8Array]);
  }
  const inClear = [...streams].flatMap(([label, chunks]) => mqttPacketsInClear(Buffer.concat(chunks)).map((p) => `${label}: ${p.summary}`));
  assert.deepEqual(inClear, [], `the relay held MQTT packets in clear (searched ${streams.size} relayed byte streams):\n${inClear.join('\n')}`);
  const ids = topology.devices().map((d) => textSecret(`MQTT client id ${d.deviceId}`, d.deviceId));
  const topics = topology.devices().map((d) => textSecret('MQTT topic', `wearables/${d.pseudonymHex}`));
  const leaks = findLeaks([...ids, ...topics], raw.map((o, i) => ({ label: `relayed chunk ${i + 1}`, bytes: o.bytes as Uint8Array })));
  assert.deepEqual(leaks, [], 'a transparent relay must see only TLS records');
});

Then('no reading value or patient identity appears in clear in the gateway records or any link capture', async function (this: TestbedWorld) {
  const topology = await this.topology();
  const secrets: Secret[] = [];
  for (const s of this.sent) {
    secrets.push({ label: `${s.deviceId} reading #${s.sequence} (48-byte plaintext)`, bytes: s.plaintext });
    secrets.push({ label: `${s.deviceId} reading #${s.sequence} ECG template`, bytes: s.plaintext.subarray(16, 48) });
  }
  for (const d of topology.devices()) {
    secrets.push(textSecret(`patient identity of ${d.deviceId}`, d.patientId));
    secrets.push(textSecret(`medical record number of ${d.deviceId}`, d.patientId.split(' ')[0] as string));
  }
  const haystacks: Haystack[] = (await topology.observations('gateway')).flatMap((o, i) => (o.bytes ? [{ label: `gateway record ${i + 1} (${o.summary})`, bytes: o.bytes }] : []));
  const evidence = await this.finish();
  assert.ok(evidence && evidence.captures.length > 0, 'no link capture was written');
  for (const c of evidence.captures) {
    const pcap = readPcap(c.path);
    assert.deepEqual(pcap.problems, [], `capture ${c.path} is damaged`);
    const streams = reassembleTcpStreams(pcap.packets);
    const flows = udpFlows(pcap.packets);
    assert.ok(streams.length + flows.length > 0, `capture of link ${c.link} holds no TCP conversation and no UDP flow`);
    streams.forEach((s, i) => haystacks.push({ label: `${c.link} capture, conversation ${i + 1} client→server`, bytes: s.clientToServer }, { label: `${c.link} capture, conversation ${i + 1} server→client`, bytes: s.serverToClient }));
    flows.forEach((f, i) => f.datagrams.forEach((d, j) => haystacks.push({ label: `${c.link} capture, UDP flow ${i + 1} datagram ${j + 1}`, bytes: d.bytes })));
  }
  assert.deepEqual(findLeaks(secrets, haystacks), [], 'plaintext found where only ciphertext may be');
});

Then('the {word} capture, decrypted with the run\'s TLS key log, shows the same 96-byte E3 packets inside MQTT', async function (this: TestbedWorld, link: string) {
  // The scenario carries @needs-tshark: the hook has already skipped it (with the reason) if tshark is missing.
  const evidence = await this.finish();
  const capture = evidence?.captures.find((c) => c.link === link);
  if (!capture) throw new Error(`no capture for link "${link}"; links captured: ${evidence?.captures.map((c) => c.link).join(', ')}`);
  const port = serverPort(reassembleTcpStreams(readPcap(capture.path).packets));
  const publishes = await decryptedMqttPublishes(capture.path, (evidence as { keyLog: string }).keyLog, port);
  assert.ok(this.sent.length > 0, 'nothing was sent in this scenario, so there is nothing to find in the capture');
  const expected = this.sent.map((s) => Buffer.from(s.packet).toString('hex'));
  assert.ok(publishes.length >= expected.length, `tshark decrypted ${publishes.length} MQTT PUBLISH messages in ${capture.path}; the wearables sent ${expected.length}`);
  for (const p of publishes) assert.equal(p.payload.length, E3_PACKET_BYTES, `frame ${p.frame}: MQTT payload is ${p.payload.length} bytes, not E3`);
  const seen = new Set(publishes.map((p) => Buffer.from(p.payload).toString('hex')));
  for (const hex of expected) assert.ok(seen.has(hex), 'a sealed reading is missing from the decrypted capture');
});

Then('the cloud opens {int} of {int} readings from {device} with the values the wearable sent', async function (this: TestbedWorld, opened: number, total: number, deviceId: string) {
  const topology = await this.topology();
  const sent = sentBy(this, deviceId);
  assert.equal(sent.length, total, `${deviceId} sent ${sent.length} readings, the scenario says ${total}`);
  const audit = await topology.audit();
  const accepted = audit.filter((e) => e.verdict === 'accepted' && e.deviceId === deviceId);
  assert.equal(accepted.length, opened, `the cloud accepted ${accepted.length} readings from ${deviceId}:\n${describe(audit)}`);
  for (const s of sent) {
    const entry = accepted.find((e) => e.sequence === s.sequence);
    assert.ok(entry, `reading #${s.sequence} was not accepted:\n${describe(audit)}`);
    assert.deepEqual(entry.reading, decodeReading(s.plaintext), `reading #${s.sequence}: the cloud decrypted other values than the wearable sent`);
  }
});

Then('the cloud rejects reading {int} from {device} as {rejection reason}', async function (this: TestbedWorld, n: number, deviceId: string, reason: E3RejectionReason) {
  const audit = await (await this.topology()).audit();
  // The N-th reading this device sent, by its own sent log: its sequence, not N, and its device.
  const target = reading(this, deviceId, n);
  const rejected = audit.filter((e) => e.verdict === 'rejected' && e.deviceId === deviceId && e.sequence === target.sequence && e.reason === reason);
  assert.ok(rejected.length >= 1, `reading ${n} of ${deviceId} (sequence ${target.sequence}) was not rejected as "${reason}":\n${describe(audit)}`);
  explained(this).push(...rejected.map((e) => e.index));
  explained(this).target = target.sequence;
});

Then('the cloud accepts every other reading from {device} exactly once, and rejects nothing else', async function (this: TestbedWorld, deviceId: string) {
  const topology = await this.topology();
  const audit = await topology.audit();
  const sent = sentBy(this, deviceId);
  const why = explained(this);
  if (why.target === undefined) throw new Error('say first which reading the cloud rejects ("Then the cloud rejects reading 5 from wearable-0001 as \\"bad tag\\"")');
  // A reading resent over UDP after a lost acknowledgement arrives twice: its second copy is a
  // legitimate "replay" rejection, but only for a sequence the wearable itself logged as resent.
  const resent = new Set((await topology.observations(`wearable:${deviceId}`)).filter((o) => o.kind === 'reading-resent').map((o) => String(o.detail.sequence)));
  const unexplained = audit.filter((e) => e.verdict === 'rejected' && !why.includes(e.index) && !(e.reason === 'replay' && e.deviceId === deviceId && resent.has(String(e.sequence))));
  assert.deepEqual(unexplained.map((e) => `#${e.index} ${e.reason} seq=${String(e.sequence)}`), [], `rejections the scenario does not explain:\n${describe(audit)}`);
  for (const s of sent) {
    const accepted = audit.filter((e) => e.verdict === 'accepted' && e.deviceId === deviceId && e.sequence === s.sequence).length;
    if (s.sequence === why.target) assert.ok(accepted <= 1, `reading #${s.sequence} accepted ${accepted} times:\n${describe(audit)}`);
    else assert.equal(accepted, 1, `reading #${s.sequence} accepted ${accepted} times:\n${describe(audit)}`);
  }
});

Then('the cloud rejects {int} cop(y)(ies) of reading {int} from {device} as {rejection reason}', async function (this: TestbedWorld, copies: number, n: number, deviceId: string, reason: E3RejectionReason) {
  const audit = await (await this.topology()).audit();
  const target = reading(this, deviceId, n);
  const forSeq = audit.filter((e) => e.deviceId === deviceId && e.sequence === target.sequence);
  assert.equal(forSeq.filter((e) => e.verdict === 'accepted').length, 1, `reading ${n} of ${deviceId} (sequence ${target.sequence}) must be accepted exactly once:\n${describe(audit)}`);
  const rejected = forSeq.filter((e) => e.verdict === 'rejected');
  assert.equal(rejected.length, copies, `expected ${copies} rejected copies of reading ${n} of ${deviceId} (sequence ${target.sequence}):\n${describe(audit)}`);
  for (const e of rejected) assert.equal(e.reason, reason, `a copy of reading ${n} of ${deviceId} was rejected for another reason:\n${describe(rejected)}`);
});

Then('{device} believes all {int} readings were delivered', async function (this: TestbedWorld, deviceId: string, count: number) {
  const observations = await (await this.topology()).observations(`wearable:${deviceId}`);
  const confirmed = observations.filter((o) => o.kind === 'delivery-confirmed');
  assert.equal(confirmed.length, count, `${deviceId} got ${confirmed.length} acknowledgements for ${count} readings`);
});

Then('the audit log shows readings {string} of {device} missing, and no others', async function (this: TestbedWorld, numbers: string, deviceId: string) {
  const topology = await this.topology();
  const expected = readingNumbers(numbers).map((n) => reading(this, deviceId, n).sequence);
  // What the cloud sees: gaps between the sequence numbers it accepted (E3 authenticates them).
  const gaps = await topology.sequenceGaps(deviceId);
  assert.deepEqual(gaps.map(String), expected.map(String), `gaps in ${deviceId}'s accepted sequence numbers`);
  // And against what was sent: nothing else is missing, not even before the first or after the last gap.
  const accepted = new Set((await topology.audit()).filter((e) => e.verdict === 'accepted' && e.deviceId === deviceId).map((e) => String(e.sequence)));
  const missing = sentBy(this, deviceId).filter((s) => !accepted.has(String(s.sequence))).map((s) => String(s.sequence));
  assert.deepEqual(missing, expected.map(String), `readings sent by ${deviceId} that the cloud never accepted`);
  const audit = await topology.audit();
  assert.equal(audit.filter((e) => e.verdict === 'rejected').length, 0, `a dropping gateway causes no rejection, only gaps:\n${describe(audit)}`);
});
