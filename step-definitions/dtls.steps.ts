/**
 * Steps of the DTLS paths (features/e3-stripped-dtls.feature): the wearable speaks DTLS 1.2 over
 * UDP through the project's pion bridge, and a gateway or an on-path attacker strips that layer.
 * Assertions read only what observers hold: link captures, the stripping node's records, the
 * cloud's audit and the wearable's own log.
 */
import { Given, Then } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { readPcap, udpFlows, containsBytes } from '../capture/pcap-reader.ts';
import { dtlsRecords } from '../analysis/dtls-records.ts';
import { E3_PACKET_BYTES } from '../crypto/e3-packet.ts';
import { decodeReadingDatagram } from '../emulators/dtls/reading-datagram.ts';
import type { GatewayMalice } from '../emulators/gateway-malice.ts';
import { loss } from '../links/impairments.ts';
import type { AuditEntry } from '../emulators/cloud/cloud-service.ts';
import type { TestbedWorld } from './world.ts';

/**
 * DTLS scenarios run 300× real time (a reading every 100 ms): the wearable's resends must fall
 * inside the cloud's ±300 s timestamp window, i.e. within 1 s of wall time here.
 */
const DTLS_SPEEDUP = 300;

export function dtlsPath(world: TestbedWorld, path: 'dtls-stripping-gateway' | 'dtls-psk-attacker', malice?: GatewayMalice): void {
  world.path = path;
  world.speedup = DTLS_SPEEDUP;
  if (malice) {
    world.malice.push(malice);
    world.attach(`${path === 'dtls-psk-attacker' ? 'attacker' : 'gateway'} malice: ${malice.explain()}`, { mediaType: 'text/plain' });
  }
}

Given('the wearables reach the cloud over DTLS through a gateway that strips DTLS', function (this: TestbedWorld) {
  dtlsPath(this, 'dtls-stripping-gateway');
});

Given('the wearables reach the cloud over DTLS through a gateway that strips DTLS and {malice}', function (this: TestbedWorld, malice: GatewayMalice) {
  dtlsPath(this, 'dtls-stripping-gateway', malice);
});

Given("the wearables reach the cloud's DTLS endpoint with a pre-shared key, through an on-path attacker that holds the key and {malice}", function (this: TestbedWorld, malice: GatewayMalice) {
  dtlsPath(this, 'dtls-psk-attacker', malice);
});

Given('the device link loses {int}% of datagrams in each direction', function (this: TestbedWorld, percent: number) {
  if (!Number.isInteger(percent) || percent < 1 || percent > 50) throw new Error(`loss must be 1..50 %, got ${percent}% (above that DTLS handshakes rarely finish)`);
  const l = loss({ rate: percent / 100 });
  this.deviceLinkImpairments = { clientToServer: [l], serverToClient: [l], seed: 42 };
});

Then('the {word} capture holds only DTLS records, encrypted after the handshake, and no E3 packet in clear', async function (this: TestbedWorld, link: string) {
  const evidence = await this.finish();
  const capture = evidence?.captures.find((c) => c.link === link);
  if (!capture) throw new Error(`no capture for link "${link}"; links captured: ${evidence?.captures.map((c) => c.link).join(', ')}`);
  const flows = udpFlows(readPcap(capture.path).packets);
  const datagrams = flows.flatMap((f) => f.datagrams);
  assert.ok(datagrams.length > 0, `capture ${capture.path} holds no UDP datagram`);
  let applicationData = 0;
  datagrams.forEach((d, i) => {
    const records = dtlsRecords(d.bytes);
    if (records instanceof Error) assert.fail(`datagram ${i + 1} of ${capture.path} is not DTLS: ${records.message}`);
    for (const r of records) {
      if (r.contentType === 'application_data') {
        applicationData += 1;
        assert.ok(r.epoch >= 1, `datagram ${i + 1}: application data in epoch 0 (unencrypted)`);
      }
    }
    for (const s of this.sent) assert.ok(!containsBytes(d.bytes, s.packet), `datagram ${i + 1} carries reading #${s.sequence}'s E3 packet in clear`);
  });
  assert.ok(applicationData >= this.sent.length, `only ${applicationData} application-data records for ${this.sent.length} readings`);
});

Then('the {word} read only 96-byte E3 packets, each one a packet the wearable sealed', async function (this: TestbedWorld, who: string) {
  if (who !== 'gateway' && who !== 'attacker') throw new Error(`say "the gateway" or "the attacker", not "the ${who}"`);
  const observations = await (await this.topology()).observations('gateway');
  const read = observations.filter((o) => o.kind === 'datagram' && o.detail.direction === 'device-to-cloud');
  assert.ok(read.length >= this.sent.length, `the ${who} read ${read.length} datagrams from the device; the wearable sent ${this.sent.length} readings`);
  const sealed = new Set(this.sent.map((s) => Buffer.from(s.packet).toString('hex')));
  read.forEach((o, i) => {
    const decoded = decodeReadingDatagram(o.bytes as Uint8Array);
    assert.ok(!(decoded instanceof Error) && decoded.type === 'reading', `datagram ${i + 1} at the ${who} is not a reading datagram`);
    assert.equal(decoded.packet.length, E3_PACKET_BYTES);
    assert.ok(sealed.has(Buffer.from(decoded.packet).toString('hex')), `datagram ${i + 1} at the ${who} is not a packet the wearable sealed`);
  });
  assert.ok(observations.some((o) => o.kind === 'device-dtls'), `the ${who} never completed a DTLS handshake with the wearable: it did not strip DTLS`);
});

function describe(entries: readonly AuditEntry[]): string {
  return entries.map((e) => `#${e.index} ${e.verdict}${e.reason ? ` (${e.reason})` : ''} seq=${String(e.sequence)} ${e.detail}`).join('\n');
}

Then('every reading from {device} is accepted exactly once, and every other copy is a resend rejected as "replay"', async function (this: TestbedWorld, deviceId: string) {
  const topology = await this.topology();
  const audit = await topology.audit();
  const sent = this.sent.filter((s) => s.deviceId === deviceId);
  assert.ok(sent.length > 0, `${deviceId} reported nothing`);
  for (const s of sent) {
    const accepted = audit.filter((e) => e.verdict === 'accepted' && e.deviceId === deviceId && e.sequence === s.sequence);
    assert.equal(accepted.length, 1, `reading #${s.sequence} accepted ${accepted.length} times:\n${describe(audit)}`);
  }
  const resent = new Set((await topology.observations(`wearable:${deviceId}`)).filter((o) => o.kind === 'reading-resent').map((o) => String(o.detail.sequence)));
  for (const e of audit.filter((x) => x.verdict === 'rejected')) {
    assert.equal(e.reason, 'replay', `unexpected rejection:\n${describe([e])}`);
    assert.equal(e.deviceId, deviceId, `a rejection of another device's packet:\n${describe([e])}`);
    assert.ok(resent.has(String(e.sequence)), `reading #${String(e.sequence)} was rejected as a duplicate but ${deviceId} never resent it`);
  }
  const failed = (await topology.observations(`wearable:${deviceId}`)).filter((o) => o.kind === 'delivery-failed');
  assert.deepEqual(failed.map((o) => o.summary), [], `${deviceId} gave up on readings`);
});

Then('the {word} link lost datagrams, and {device} resent readings', async function (this: TestbedWorld, link: string, deviceId: string) {
  const topology = await this.topology();
  const lost = (await topology.observations(`link:${link}`)).filter((o) => o.kind === 'impaired' && /lost/.test(String(o.detail.note)));
  assert.ok(lost.length > 0, `the ${link} link lost nothing: the scenario did not test loss`);
  const resent = (await topology.observations(`wearable:${deviceId}`)).filter((o) => o.kind === 'reading-resent');
  this.attach(`${link}: ${lost.length} datagrams lost; ${deviceId}: ${resent.length} resends`, { mediaType: 'text/plain' });
  assert.ok(resent.length > 0, `${deviceId} resent nothing although ${lost.length} datagrams were lost`);
});
