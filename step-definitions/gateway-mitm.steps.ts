/**
 * A man-in-the-middle between the gateway and the cloud (the E4 hop of the source chapter,
 * §17.3): whether it gets in depends on the gateway's upstream client; what it gets, if it does,
 * is only E3 ciphertext — even when it holds a stolen gateway identity and relays into the cloud.
 */
import { Given, Then, When } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { findLeaks, textSecret, type Secret } from '../analysis/leak-search.ts';
import { E3_PACKET_BYTES } from '../crypto/e3-packet.ts';
import type { TlsClientProfile } from '../emulators/tls-client-profile.ts';
import type { TestbedWorld } from './world.ts';

Given('the gateway\'s upstream client uses the {profile}', function (this: TestbedWorld, profile: TlsClientProfile) {
  if (profile.plaintext) throw new Error('the gateway re-wraps upstream in TLS; choose a TLS client profile (secure, no-verify, …)');
  this.gatewayUpstreamProfile = profile.name;
});

Given('a MITM between the gateway and the cloud presents the {forged certificate}', function (this: TestbedWorld, forgedCase: string) {
  this.gatewayCloudMitm = { forgedCase, stolenGatewayIdentity: false };
});

Given('a MITM between the gateway and the cloud presents the {forged certificate} and holds a stolen gateway identity', function (this: TestbedWorld, forgedCase: string) {
  this.gatewayCloudMitm = { forgedCase, stolenGatewayIdentity: true };
});

When('{device} tries to report {int} readings', async function (this: TestbedWorld, deviceId: string, count: number) {
  const topology = await this.topology();
  try {
    this.sent.push(...(await topology.report(deviceId, count)));
    await topology.settle();
  } catch (err) {
    // The attempt is the point: what each party saw is asserted next.
    this.attach(`${deviceId} could not report: ${(err as Error).message}`, { mediaType: 'text/plain' });
  }
});

Then('the gateway refused the MITM\'s certificate with {string}', async function (this: TestbedWorld, reason: string) {
  const topology = await this.topology();
  const gateway = await topology.observations('gateway');
  const upstreamErrors = gateway.filter((o) => o.kind === 'tls-error' && o.detail.side === 'cloud');
  assert.ok(upstreamErrors.length > 0, `the gateway recorded no upstream TLS failure:\n${gateway.map((o) => `${o.kind}: ${o.summary}`).join('\n')}`);
  assert.ok(upstreamErrors.some((o) => String(o.detail.message).includes(reason)), `the gateway refused for another reason: ${upstreamErrors.map((o) => o.detail.message).join('; ')}`);
  assert.equal(gateway.filter((o) => o.kind === 'upstream-tls').length, 0, 'the gateway completed an upstream TLS handshake');
});

Then('the MITM obtained no plaintext and the cloud audited nothing', async function (this: TestbedWorld) {
  const topology = await this.topology();
  const mitm = await topology.observations('mitm-proxy');
  const plaintext = mitm.filter((o) => o.kind === 'plaintext' || o.kind === 'mqtt-packet');
  assert.equal(plaintext.length, 0, `the MITM read: ${plaintext.map((o) => o.summary).join('; ')}`);
  assert.equal((await topology.audit()).length, 0, 'the cloud audited packets');
});

Then('the MITM read the gateway\'s MQTT session, and every payload in it is a 96-byte E3 packet it cannot open', async function (this: TestbedWorld) {
  const topology = await this.topology();
  const mitm = await topology.observations('mitm-proxy');
  assert.ok(mitm.some((o) => o.kind === 'handshake-complete'), 'the gateway did not accept the MITM');
  const publishes = mitm.filter((o) => o.kind === 'mqtt-packet' && o.detail.cmd === 'publish');
  assert.ok(publishes.length > 0, 'the MITM read no PUBLISH');
  for (const p of publishes) assert.equal(p.bytes?.length, E3_PACKET_BYTES, `the MITM read a ${p.bytes?.length}-byte payload`);
  const secrets: Secret[] = this.sent.map((s) => ({ label: `${s.deviceId} reading #${s.sequence} in clear`, bytes: s.plaintext }));
  for (const d of topology.devices()) secrets.push(textSecret(`patient identity of ${d.deviceId}`, d.patientId));
  const haystacks = mitm.flatMap((o, i) => (o.bytes ? [{ label: `mitm record ${i + 1} (${o.kind})`, bytes: o.bytes }] : []));
  assert.deepEqual(findLeaks(secrets, haystacks), [], 'the MITM holds a reading or a patient identity in clear');
});
