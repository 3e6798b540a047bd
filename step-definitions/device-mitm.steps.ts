/**
 * An emulated wearable behind a MITM on the device link of an `up` graph
 * (features/external-peers.feature, `testbed up --mitm device-gateway:CASE`): the secure profile
 * verifies the gateway's certificate against the testbed CA, so a forged one ends its handshake
 * (source chapter E4: certificate validation is what stops an on-path impostor). What it did is
 * read from the wearable's own record and the cloud's audit, never from the MITM's intent.
 */
import { Then, When } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import type { TestbedWorld } from './world.ts';
import { runningUp } from './external-peers.steps.ts';

/** What a wearable's attempt through the MITM came to: the error it ended with, if any. */
const attempts = new WeakMap<TestbedWorld, { deviceId: string; error: string | undefined }>();

When('{device} tries to send {int} reading(s) through the MITM on the device link', { timeout: 60_000 }, async function (this: TestbedWorld, deviceId: string, n: number) {
  let error: string | undefined;
  // The refusal is the expected outcome: it is kept and judged by the Then steps.
  await runningUp(this).report(deviceId, n).catch((err: Error) => (error = err.message));
  attempts.set(this, { deviceId, error });
  this.attach(error ? `the attempt ended with: ${error}` : 'the attempt reported no error', { mediaType: 'text/plain' });
});

Then("{device}'s own record shows it refused the MITM's certificate as {string}", async function (this: TestbedWorld, deviceId: string, reason: string) {
  const attempt = attempts.get(this);
  if (!attempt || attempt.deviceId !== deviceId) throw new Error(`${deviceId} made no attempt; add "When ${deviceId} tries to send 1 reading through the MITM on the device link"`);
  // The reserved device never connects, so the fleet's record is this wearable's.
  const record = await runningUp(this).role('wearables').observations();
  const handshakes = record.filter((o) => o.kind === 'tls-handshake');
  assert.equal(handshakes.length, 0, `${deviceId} completed a TLS handshake through the MITM (it accepted the forged certificate): ${handshakes.map((o) => o.summary).join('; ')}`);
  const refusals = record.filter((o) => o.kind === 'tls-error');
  assert.ok(refusals.length > 0, `${deviceId}'s record holds no TLS error; it recorded: ${record.map((o) => `${o.kind}: ${o.summary}`).join('; ') || 'nothing'}`);
  assert.ok(refusals.some((o) => String(o.detail.message ?? o.summary).includes(reason)), `${deviceId} refused for another reason than "${reason}": ${refusals.map((o) => o.summary).join('; ')}`);
  this.attach(refusals.map((o) => o.summary).join('\n'), { mediaType: 'text/plain', fileName: 'wearable-refusal.txt' });
});

Then("the cloud's audit holds nothing from {device}", async function (this: TestbedWorld, deviceId: string) {
  const entries = (await runningUp(this).audit()).filter((e) => e.deviceId === deviceId);
  assert.equal(entries.length, 0, `the cloud audited ${entries.length} packet(s) from ${deviceId}: something got through the MITM (${entries.map((e) => `${e.verdict} ${e.reason ?? ''}`).join('; ')})`);
});

Then("the gateway's own record shows the MITM connected onward with the reserved device's certificate", { timeout: 15_000 }, async function (this: TestbedWorld) {
  const graph = runningUp(this);
  const stolen = graph.pki.externalDevice.id;
  // The MITM dials the gateway once the victim's handshake is done: allow it a bounded moment.
  const deadline = Date.now() + 8_000;
  const onward = async () => (await graph.role('gateway').observations()).filter((o) => o.kind === 'device-tls' && o.detail.device === stolen);
  while ((await onward()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const seen = await onward();
  const gateway = await graph.role('gateway').observations();
  assert.ok(seen.length > 0, `the gateway recorded no TLS client with ${stolen}'s certificate: the MITM did not relay onward; the gateway recorded: ${gateway.map((o) => `${o.kind}: ${o.summary}`).join('; ') || 'nothing'}`);
  this.attach(seen.map((o) => o.summary).join('\n'), { mediaType: 'text/plain', fileName: 'gateway-onward.txt' });
});
