/**
 * One wearable's certificate revoked while the fleet reports (features/fleet-revocation.feature).
 * Judged from the cloud's ledger (what it opened, per device), the revoked device's own record
 * (its queue and refusals), the broker's own log, and the wire (the revoked credential presented
 * again on a captured link, TLS 1.3 alerts decrypted with the presenter's key log).
 */
import { Given, Then, When } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import type { TestbedWorld } from './world.ts';
import { assertSealedReadingsHandedOn, describeGaps, fleetOf, RECONNECT_STEP_TIMEOUT_MS, reportWithEventAtHalf, startFleet, statsOnceConnected } from './fleet.steps.ts';
import { whereSealedReadingsAre } from '../emulators/fleet/fleet-accounting.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { revocable, type RevocationRecord } from '../topology/fleet-revocation.ts';

const revocations = new WeakMap<TestbedWorld, RevocationRecord>();
/** Bound on waiting for the cloud to open what the other devices sealed (never a fixed sleep). */
const CLOUD_SETTLE_MS = 120_000;

function revocationOf(world: TestbedWorld, deviceId: string): RevocationRecord {
  const r = revocations.get(world);
  if (!r) throw new Error('no certificate was revoked in this scenario; use "When every wearable reports N readings while the CA revokes wearable-NNNN\'s certificate once half of them are sealed"');
  if (r.deviceId !== deviceId) throw new Error(`the certificate revoked in this scenario is ${r.deviceId}'s, not ${deviceId}'s`);
  return r;
}

/** A broker record of a handshake refused because the certificate is revoked (Aedes: CERT_REVOKED; Mosquitto: OpenSSL's verify failure). */
function revocationRefusal(o: Observation): boolean {
  return o.kind === 'tls-error' && /CERT_REVOKED|certificate revoked|certificate verify failed/i.test(`${o.summary} ${String(o.detail.message ?? '')}`);
}

Given('a fleet of {int} wearables reporting every 30 s at {speed-up}, whose broker checks the CA\'s revocation list', { timeout: 300_000 }, async function (this: TestbedWorld, wearables: number, speedup: number) {
  await startFleet(this, wearables, speedup, undefined, { revocable: true, capture: false });
});

When('every wearable reports {int} readings while the CA revokes {device}\'s certificate once half of them are sealed', { timeout: 600_000 }, async function (this: TestbedWorld, count: number, deviceId: string) {
  const f = fleetOf(this);
  const rig = revocable(f.rig);
  await reportWithEventAtHalf(f, count, 'the revocation', async () => {
    const record = await rig.revokeCertificate(deviceId);
    revocations.set(this, record);
    this.attach(`${deviceId}'s certificate (serial ${record.serialHex}) revoked: ${record.how}; the device had sealed ${record.deviceAtRevocation.sealed} readings, ${record.deviceAtRevocation.queued} of them unacknowledged`, { mediaType: 'text/plain', fileName: 'revocation.txt' });
  });
});

Then('the cloud opens every reading exactly once and in order for every wearable but {device}', { timeout: 300_000 }, async function (this: TestbedWorld, deviceId: string) {
  const f = fleetOf(this);
  const rig = revocable(f.rig);
  revocationOf(this, deviceId);
  // Everything but what the revoked device still holds must reach the cloud (bounded wait).
  const until = performance.now() + CLOUD_SETTLE_MS;
  let ledger = await f.rig.ledger();
  for (;;) {
    const [stats, revoked] = await Promise.all([f.rig.fleetStats(), rig.deviceRecord(deviceId)]);
    ledger = await f.rig.ledger();
    if (stats.pending === revoked.queued && ledger.accepted >= stats.sealed - revoked.queued - stats.overflows) break;
    if (performance.now() > until) break; // the assertions below say what is missing
    await new Promise((r) => setTimeout(r, 200));
  }
  const stats = await f.rig.fleetStats();
  f.statsAtEnd = stats;
  const others = ledger.gaps.filter((g) => g.deviceId !== deviceId);
  assert.equal(ledger.devices, f.wearables, `the ledger covers ${ledger.devices} wearables, the fleet has ${f.wearables}`);
  assertSealedReadingsHandedOn(stats, others);
  assert.equal(others.length, 0, `${others.length} wearables other than ${deviceId} have readings missing or extra at the cloud (${describeGaps(others)}); rejected by the cloud: ${JSON.stringify(ledger.rejectedByReason)}; on the wearables: ${whereSealedReadingsAre(stats)}`);
  assert.equal(ledger.outOfOrder, 0, `${ledger.outOfOrder} readings were opened out of order`);
  const refusedOtherwise = Object.entries(ledger.rejectedByReason).filter(([reason]) => reason !== 'replay');
  assert.deepEqual(refusedOtherwise, [], `the cloud rejected readings for other reasons than a resent copy: ${JSON.stringify(ledger.rejectedByReason)}`);
  assert.equal(ledger.rejectedByReason.replay ?? 0, ledger.duplicatesRefused, 'replays were refused for readings of no known device');
  assert.equal(stats.overflows, 0, `${stats.overflows} readings were dropped from full store-and-forward queues`);
});

Then('{device}\'s readings stop at the revocation and its queue holds every reading it could not deliver', async function (this: TestbedWorld, deviceId: string) {
  const f = fleetOf(this);
  const rig = revocable(f.rig);
  const r = revocationOf(this, deviceId);
  const [ledger, device] = await Promise.all([f.rig.ledger(), rig.deviceRecord(deviceId)]);
  const gap = ledger.gaps.find((g) => g.deviceId === deviceId);
  assert.ok(gap, `the cloud opened all ${device.sealed} readings of ${deviceId}, whose certificate was revoked after its reading ${r.deviceAtRevocation.sealed}: the revocation did not stop it`);
  this.attach(`${deviceId}: sealed ${device.sealed} (${r.deviceAtRevocation.sealed} at the revocation), the cloud opened ${gap.accepted} (highest ${gap.highest}); ${device.queued} still queued from sequence ${device.oldestQueued}; refused ${device.refusals} times since it started, last: ${device.lastRefusal ?? 'never'}`, { mediaType: 'text/plain', fileName: `${deviceId}-record.txt` });
  assert.ok(gap.accepted >= 1, `the cloud opened no reading of ${deviceId}, not even before the revocation`);
  assert.equal(gap.highest, gap.accepted, `${deviceId}'s opened readings are not exactly 1..${gap.highest} (${gap.accepted} opened)`);
  assert.ok(gap.highest <= r.deviceAtRevocation.sealed, `the cloud opened ${deviceId}'s reading ${gap.highest}, sealed after the revocation (it had sealed ${r.deviceAtRevocation.sealed} when the CRL was in force)`);
  assert.equal(gap.accepted + device.queued, device.sealed, `${deviceId} sealed ${device.sealed} readings, the cloud opened ${gap.accepted} and the device holds ${device.queued}: ${device.sealed - gap.accepted - device.queued} are unaccounted for`);
  assert.equal(device.oldestQueued, gap.accepted + 1, `${deviceId}'s queue starts at sequence ${device.oldestQueued}, the cloud's last opened is ${gap.accepted}`);
  assert.ok(device.refusals > r.deviceAtRevocation.refusals, `${deviceId} records no refusal by the broker after the revocation (${device.refusals} in all)`);
  assert.equal(device.connected, false, `${deviceId} is still connected to the broker after its certificate was revoked`);
});

Then('the broker\'s own log refuses {device}\'s certificate from the revocation on and admits no session of it', { timeout: RECONNECT_STEP_TIMEOUT_MS }, async function (this: TestbedWorld, deviceId: string) {
  const f = fleetOf(this);
  const rig = revocable(f.rig);
  const r = revocationOf(this, deviceId);
  const records = await rig.brokerRecords();
  const before = records.slice(0, r.brokerRecordsBefore);
  const after = records.slice(r.brokerRecordsBefore);
  const refusals = after.filter(revocationRefusal);
  const admitted = after.filter((o) => o.kind === 'mqtt-connect' && o.detail.accepted === true && o.detail.identity === deviceId);
  this.attach([`${refusals.length} revocation refusals in the broker's log since the CRL reload:`, ...refusals.slice(0, 10).map((o) => `  ${o.summary}`), `sessions of ${deviceId} admitted since: ${admitted.length}`].join('\n'), { mediaType: 'text/plain', fileName: 'broker-refusals.txt' });
  assert.equal(before.filter(revocationRefusal).length, 0, `the broker refused a revoked certificate before anything was revoked: ${before.find(revocationRefusal)?.summary}`);
  assert.ok(refusals.length >= 1, `the broker's log records no refused certificate since the CRL reload (${after.length} records since, kinds: ${[...new Set(after.map((o) => o.kind))].join(', ')})`);
  assert.deepEqual(admitted.map((o) => o.summary), [], `the broker admitted ${deviceId} after its certificate was revoked`);
  // Neither broker's refusal line names the certificate (node:tls has dropped the socket, Mosquitto
  // logs OpenSSL's error only), so they are tied to the device by count: every refusal since the
  // reload is one of the revoked device's own attempts (read after the log; one may be in flight),
  // and no other wearable of the fleet was refused at all.
  // and every other wearable is connected at the end (a broker restart refuses them only while it is down).
  const [device, stats] = await Promise.all([rig.deviceRecord(deviceId), statsOnceConnected(this, f, f.wearables - 1, `every wearable but ${deviceId}`)]);
  const attempts = device.refusals - r.deviceAtRevocation.refusals;
  assert.ok(refusals.length <= attempts + 1, `the broker refused ${refusals.length} certificates as revoked since the reload, but ${deviceId} was refused only ${attempts} times: another device was refused`);
  assert.equal(stats.connected, f.wearables - 1, `${stats.connected} of ${f.wearables} wearables are connected at the end; all but ${deviceId} should be (refusals: ${JSON.stringify(stats.refusalReasons)})`);
});

Then('{device}\'s certificate presented again is refused on the wire with {string}', async function (this: TestbedWorld, deviceId: string, expected: string) {
  const f = fleetOf(this);
  const rig = revocable(f.rig);
  revocationOf(this, deviceId);
  const p = await rig.presentCertificate(deviceId);
  const alerts = p.wire.alerts.map((a) => `${a.from} ${a.level} ${a.name}${a.encrypted ? ' (decrypted)' : ''}`);
  this.attach(`capture ${p.capture}: ${p.result.error ?? 'no error'}; CONNACK ${p.result.connackReturnCode ?? 'none'}; alerts: ${alerts.join(', ') || 'none'}${p.wire.problems.length ? `; ${p.wire.problems.join('; ')}` : ''}`, { mediaType: 'text/plain', fileName: `${deviceId}-presented.txt` });
  assert.notEqual(p.result.connackReturnCode, 0, `the broker admitted ${deviceId}'s revoked certificate (CONNACK 0)`);
  assert.ok(p.wire.serverHello, `the capture ${p.capture} holds no ServerHello for the presented certificate (${p.wire.problems.join('; ') || 'nothing else'})`);
  const serverAlerts = p.wire.alerts.filter((a) => a.from === 'server');
  if (expected === 'no alert') {
    assert.equal(serverAlerts.length, 0, `the broker sent ${serverAlerts.map((a) => a.name).join(', ')} where it was expected to close without an alert`);
    assert.equal(p.wire.serverApplicationRecords, 0, `the broker sent ${p.wire.serverApplicationRecords} application records (a CONNACK?) to the revoked certificate`);
  } else {
    assert.ok(serverAlerts.some((a) => a.name.startsWith(`${expected} `)), `the broker's alerts on the wire: ${alerts.join(', ') || 'none'} (${p.wire.undecrypted} records not decrypted${p.wire.problems.length ? `; ${p.wire.problems.join('; ')}` : ''}); expected ${expected}`);
  }
});
