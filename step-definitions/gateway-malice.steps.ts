/**
 * The gateway malices of docs/architecture.md §3 Roles that play with time and order (`delay`, `reorder`), judged
 * from the cloud's audit log: what arrived, in which order, and with which verdict.
 */
import { Given, Then, When } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { delay, reorder, type GatewayMalice } from '../emulators/gateway-malice.ts';
import type { AuditEntry } from '../emulators/cloud/cloud-service.ts';
import type { Path } from '../topology/topology.ts';
import type { TestbedWorld } from './world.ts';

/** How long the audit may take to show every held reading; the hold itself is seconds of wall time at most. */
const RELEASE_TIMEOUT_MS = 30_000;

function declare(world: TestbedWorld, mode: Path, malice: GatewayMalice): void {
  world.path = mode;
  world.malice.push(malice);
  world.attach(`gateway malice: ${malice.explain()}`, { mediaType: 'text/plain' });
}

Given('the wearables reach the cloud through a gateway that {gateway mode} and holds reading {int} for {int} seconds', function (this: TestbedWorld, mode: Path, n: number, heldSeconds: number) {
  // Simulated seconds, as the E3 timestamps and the cloud's skew window count them (emulators/sim-clock.ts).
  declare(this, mode, delay({ packets: [n], heldSeconds, speedup: this.speedup }));
});

Given('the wearables reach the cloud through a gateway that {gateway mode} and swaps reading {int} with the next one', function (this: TestbedWorld, mode: Path, n: number) {
  declare(this, mode, reorder({ packets: [n] }));
});

function sequenceOf(world: TestbedWorld, deviceId: string, n: number): bigint {
  const sent = world.sent.filter((s) => s.deviceId === deviceId);
  const r = sent[n - 1];
  if (!r) throw new Error(`${deviceId} sent ${sent.length} readings; there is no reading ${n}`);
  return r.sequence;
}

function order(audit: readonly AuditEntry[], deviceId: string): string {
  return audit.filter((e) => e.deviceId === deviceId).map((e) => `#${String(e.sequence)} ${e.verdict}${e.reason ? ` (${e.reason})` : ''}`).join(', ');
}

When('the gateway has let go of every reading it held', async function (this: TestbedWorld) {
  const topology = await this.topology();
  const deadline = Date.now() + RELEASE_TIMEOUT_MS;
  // Every reading a wearable logged as sent has an audit entry: the held ones arrived too.
  const missing = async () => {
    const audit = await topology.audit();
    return this.sent.filter((s) => !audit.some((e) => e.deviceId === s.deviceId && e.sequence === s.sequence));
  };
  for (let left = await missing(); left.length > 0; left = await missing()) {
    if (Date.now() > deadline) {
      const notes = (await topology.observations('gateway')).filter((o) => o.kind === 'malice').map((o) => o.summary);
      throw new Error(`after ${RELEASE_TIMEOUT_MS / 1000} s the cloud has no audit entry for ${left.map((s) => `${s.deviceId} #${s.sequence}`).join(', ')}; the gateway's malice notes: ${notes.join('; ') || 'none'}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await topology.settle();
  const notes = (await topology.observations('gateway')).filter((o) => o.kind === 'malice').map((o) => o.summary);
  this.attach(`the gateway's own record of what it held and released:\n${notes.join('\n')}`, { mediaType: 'text/plain' });
});

Then('the audit log shows reading {int} of {device} arriving after reading {int}', async function (this: TestbedWorld, late: number, deviceId: string, earlier: number) {
  const audit = await (await this.topology()).audit();
  const at = (n: number) => audit.find((e) => e.deviceId === deviceId && e.sequence === sequenceOf(this, deviceId, n))?.index;
  const lateAt = at(late);
  const earlierAt = at(earlier);
  assert.ok(lateAt !== undefined && earlierAt !== undefined, `the audit log has no entry for reading ${lateAt === undefined ? late : earlier} of ${deviceId}: ${order(audit, deviceId)}`);
  assert.ok(lateAt > earlierAt, `reading ${late} of ${deviceId} arrived before reading ${earlier}; the audit order is ${order(audit, deviceId)}`);
  this.attach(`audit order of ${deviceId}: ${order(audit, deviceId)}`, { mediaType: 'text/plain' });
});
