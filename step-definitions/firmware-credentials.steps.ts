/**
 * Hard-coded and shared credentials (source chapter §17.5): a fleet built from firmware images,
 * the analyst's scan of those images, an attacker holding one of them, and credential rotation.
 * Judged from the scan's findings, the broker's records and the cloud's audit log.
 */
import { After, Given, Then, When } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { scanFiles, type FleetScan } from '../firmware/scan-files.ts';
import { buildFleetFirmware, type FleetFirmware } from '../firmware/fleet-firmware.ts';
import type { FirmwareProfile } from '../firmware/firmware-image.ts';
import type { SessionOutcome } from '../firmware/firmware-client.ts';
import { sharedIdentities } from '../analysis/shared-identities.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { startCredentialsRig, type AttackOutcome, type CredentialsRig } from '../topology/credentials-rig.ts';
import type { E3RejectionReason } from '../crypto/e3-opener.ts';
import { scenarioState } from './scenario-state.ts';
import type { TestbedWorld } from './world.ts';

/** How long a cloud service in another container may take to audit what the broker delivered. */
const AUDIT_TIMEOUT_MS = 10_000;

const state = scenarioState<{ fleet?: FleetFirmware; scan?: FleetScan; rig?: CredentialsRig; boot?: readonly SessionOutcome[]; attackMark?: number; attack?: readonly AttackOutcome[]; leaked?: string; reconnect?: readonly SessionOutcome[]; reconnectMark?: number }>(() => ({}));

function fleetOf(w: TestbedWorld): FleetFirmware {
  const fleet = state(w).fleet;
  if (!fleet) throw new Error('build the fleet first: "Given a fleet of 3 wearables built with "hardcoded-credentials" firmware"');
  return fleet;
}

async function rigOf(w: TestbedWorld): Promise<CredentialsRig> {
  const s = state(w);
  if (!s.rig) s.rig = await startCredentialsRig(fleetOf(w), w.dir);
  return s.rig;
}

function records(list: readonly Observation[]): string {
  return list.map((o) => `  ${o.kind}: ${o.summary.trim()}`).join('\n') || '  (none)';
}

Given('a fleet of {int} wearables built with {firmware profile}', async function (this: TestbedWorld, count: number, profile: FirmwareProfile) {
  state(this).fleet = await buildFleetFirmware({ dir: this.dir, profile, count });
  this.attach(`firmware images (${profile}, mode 0600):\n${[...fleetOf(this).images.values()].join('\n')}`, { mediaType: 'text/plain' });
});

When('the analyst scans the fleet\'s firmware images', function (this: TestbedWorld) {
  const s = state(this);
  s.scan = scanFiles([...fleetOf(this).images.values()]);
  const lines = s.scan.scans.flatMap((f) => f.findings.map((x) => `${f.file} 0x${x.offset.toString(16)} ${x.kind} ${x.label} ${x.fingerprint.slice(0, 16)}`));
  this.attach(`testbed scan firmware:\n${lines.join('\n')}\nshared: ${s.scan.shared.map((g) => `${g.kind} "${g.label}" in ${g.holders.length} images`).join('; ') || 'none'}`, { mediaType: 'text/plain' });
});

function scanOf(w: TestbedWorld): FleetScan {
  const scan = state(w).scan;
  if (!scan) throw new Error('scan first: "When the analyst scans the fleet\'s firmware images"');
  return scan;
}

Then('the scan finds the MQTT password and a live API key in every image, at the same offset, shared by all {int} images', function (this: TestbedWorld, count: number) {
  const scan = scanOf(this);
  assert.deepEqual(scan.problems, [], 'every image must be scannable');
  for (const kind of ['password', 'api-key'] as const) {
    const group = scan.shared.find((g) => g.kind === kind);
    assert.ok(group, `the scan found no ${kind} shared by several images; shared: ${JSON.stringify(scan.shared.map((g) => g.kind))}`);
    assert.equal(group.holders.length, count, `the ${kind} is in ${group.holders.length} of ${count} images`);
    assert.equal(new Set(group.holders.map((h) => h.offset)).size, 1, `the ${kind} sits at different offsets: ${group.holders.map((h) => h.offset).join(', ')}`);
  }
  // The finding is the credential the device boots with, not a look-alike.
  const fleet = fleetOf(this);
  const first = scan.scans[0];
  const password = first?.findings.find((f) => f.kind === 'password');
  assert.ok(first && password);
  const bytes = readFileSync(first.file).subarray(password.offset, password.offset + password.length).toString('latin1');
  assert.equal(bytes, fleet.shared?.mqttPass, 'the password the scan points at is not the one the fleet connects with');
});

Then('the scan finds each image\'s own private key and certificate, and no credential shared by two images', function (this: TestbedWorld) {
  const scan = scanOf(this);
  assert.deepEqual(scan.problems, []);
  for (const f of scan.scans) {
    const kinds = new Set(f.findings.map((x) => x.kind));
    for (const k of ['pem-private-key', 'der-private-key', 'certificate'] as const) assert.ok(kinds.has(k), `${f.file}: no ${k} found (found ${[...kinds].join(', ')})`);
    assert.ok(!kinds.has('password') && !kinds.has('api-key'), `${f.file}: a password or API key in a per-device image`);
  }
  assert.deepEqual(scan.shared.map((g) => `${g.kind} "${g.label}" in ${g.holders.length} images`), [], 'credentials shared across the per-device fleet');
});

When('the fleet connects to the cloud broker with the credentials in its firmware', async function (this: TestbedWorld) {
  const rig = await rigOf(this);
  const boot = await rig.bootFleet();
  state(this).boot = boot;
  assert.ok(boot.every((b) => b.connected), `not every device connected: ${boot.map((b) => b.error ?? 'ok').join('; ')}`);
});

When('an attacker extracts {device}\'s firmware image and uses it to connect as every device of the fleet, publishing on each device\'s topic', async function (this: TestbedWorld, leaked: string) {
  const rig = await rigOf(this);
  const s = state(this);
  s.leaked = leaked;
  s.attackMark = await rig.mark();
  s.attack = await rig.attack(leaked, fleetOf(this).devices.map((d) => d.deviceId));
  this.attach(`attacker with ${leaked}'s image:\n${s.attack.map((a) => `${a.clientId}: ${a.connected ? 'connected' : `refused (${a.error})`}`).join('\n')}`, { mediaType: 'text/plain' });
});

async function attackRecords(w: TestbedWorld): Promise<readonly Observation[]> {
  const s = state(w);
  if (s.attackMark === undefined) throw new Error('the attack has not happened; add "When an attacker extracts wearable-0001\'s firmware image and uses it …"');
  return (await (await rigOf(w)).brokerRecords()).slice(s.attackMark).filter((o) => typeof o.detail.clientId !== 'string' || o.detail.clientId.endsWith('-clone'));
}

Then('the broker let the attacker publish on the topics of {int} of the {int} devices, as {string}', async function (this: TestbedWorld, allowed: number, total: number, identity: string) {
  const fleet = fleetOf(this);
  assert.equal(fleet.devices.length, total, `the fleet has ${fleet.devices.length} devices, the scenario says ${total}`);
  const recs = await attackRecords(this);
  const topics = new Set(recs.filter((o) => o.kind === 'publish').map((o) => o.detail.topic as string));
  const devicesHit = fleet.devices.filter((d) => [...topics].some((t) => t.includes(d.pseudonymHex)));
  assert.equal(devicesHit.length, allowed, `the broker accepted the attacker's PUBLISH on the topics of ${devicesHit.map((d) => d.deviceId).join(', ') || 'no device'}; its records since the attack:\n${records(recs)}`);
  // Who the broker took the publisher to be: the certificate CN or the password login's username.
  const as = [...new Set(recs.filter((o) => o.kind === 'publish').map((o) => String(o.detail.identity)))];
  assert.deepEqual(as, [identity], `the broker recorded the attacker's PUBLISHes as ${as.join(', ')}:\n${records(recs)}`);
  this.attach(`the broker's records of the attacker's sessions:\n${records(recs)}`, { mediaType: 'text/plain' });
});

Then('the cloud audit shows the attacker\'s packets for {int} device(s), each rejected as {rejection reason}', async function (this: TestbedWorld, count: number, reason: E3RejectionReason) {
  const rig = await rigOf(this);
  // The cloud service may be a subscriber in another container: wait (bounded) for its audit to hold them.
  const deadline = Date.now() + AUDIT_TIMEOUT_MS;
  let audit = await rig.audit();
  while (new Set(audit.map((e) => e.deviceId)).size < count && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    audit = await rig.audit();
  }
  const devices = new Set(audit.map((e) => e.deviceId));
  assert.equal(devices.size, count, `the cloud audited packets for ${[...devices].join(', ') || 'no device'}:\n${audit.map((e) => `#${e.index} ${e.deviceId} by ${e.deliveredBy}: ${e.verdict} ${e.reason ?? ''}`).join('\n')}`);
  for (const e of audit) assert.equal(e.reason, reason, `audit #${e.index} (${e.deviceId}): ${e.verdict} ${e.reason ?? ''}; the attacker holds no E3 key, so E3 must refuse it`);
});

Then('the broker reports the identity {string} connected from {int} clients at once', async function (this: TestbedWorld, identity: string, clients: number) {
  const shared = sharedIdentities(await (await rigOf(this)).brokerRecords());
  const found = shared.find((s) => s.identity === identity);
  assert.ok(found, `the broker's records show no identity connected from several clients at once as "${identity}"; shared: ${JSON.stringify(shared)}`);
  assert.equal(found.most, clients, `"${identity}" was connected from ${found.most} clients at once: ${found.clientIds.join(', ')}`);
  this.attach(`broker: "${identity}" held by ${found.most} clients at once: ${found.clientIds.join(', ')}`, { mediaType: 'text/plain' });
});

When('the operator rotates {device}\'s credentials without a firmware update', async function (this: TestbedWorld, deviceId: string) {
  const what = await (await rigOf(this)).rotate(deviceId);
  this.attach(`rotation: ${what}`, { mediaType: 'text/plain' });
});

When('every device and the attacker connect again', async function (this: TestbedWorld) {
  const rig = await rigOf(this);
  const s = state(this);
  s.reconnectMark = await rig.mark();
  s.reconnect = await rig.reconnectFleet();
  s.attackMark = await rig.mark();
  s.attack = await rig.attack(s.leaked ?? 'wearable-0001', [s.leaked ?? 'wearable-0001']);
});

Then('{int} of the {int} devices are admitted by the broker, and the attacker is refused', async function (this: TestbedWorld, admitted: number, total: number) {
  const s = state(this);
  const outcomes = s.reconnect ?? [];
  assert.equal(outcomes.length, total);
  const rig = await rigOf(this);
  const recs = await rig.brokerRecords();
  // The broker's own record of whom it admitted after the rotation, not the clients' view.
  const since = recs.slice(s.reconnectMark ?? 0);
  const admittedIds = new Set(since.filter((o) => o.kind === 'mqtt-connect' && o.detail.accepted === true).map((o) => o.detail.clientId as string));
  const devicesIn = fleetOf(this).devices.filter((d) => admittedIds.has(d.deviceId)).length;
  assert.equal(devicesIn, admitted, `the broker admitted ${devicesIn} of ${total} devices after the rotation:\n${records(since)}`);
  const attackerIn = [...admittedIds].filter((id) => id.endsWith('-clone'));
  assert.deepEqual(attackerIn, [], `the broker admitted the attacker's leaked credentials after the rotation:\n${records(since)}`);
  this.attach(`broker after the rotation:\n${records(since)}`, { mediaType: 'text/plain' });
});

// Tagged: only these scenarios have the rig; an untagged hook is a step in every scenario's report (cli/step-hook-tags.test.ts).
After({ tags: '@credentials' }, async function (this: TestbedWorld) {
  await state(this).rig?.stop();
});
