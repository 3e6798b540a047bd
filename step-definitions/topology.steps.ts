/** Steps that declare and drive the topology: who is there, how they are wired, what they do. */
import { Given, When } from '@cucumber/cucumber';
import type { GatewayMalice } from '../emulators/gateway-malice.ts';
import type { TlsClientProfile } from '../emulators/tls-client-profile.ts';
import type { Path } from '../topology/topology.ts';
import type { TestbedWorld } from './world.ts';

Given('a cloud broker with mutual TLS and the cloud service', function (this: TestbedWorld) {
  // The cloud is part of every topology; this step states it for the reader and checks order.
  if (this.started) throw new Error('declare the cloud before any wearable reports (Given steps come before When steps)');
});

Given('{int} wearable(s) with the {profile}', function (this: TestbedWorld, count: number, profile: TlsClientProfile) {
  if (!Number.isInteger(count) || count < 1 || count > 5000) throw new Error(`the number of wearables must be 1..5000, got ${count}`);
  this.wearableCount = count;
  this.wearableProfile = profile.name;
});

Given('the wearables reach the cloud through a gateway that {gateway mode}', function (this: TestbedWorld, mode: Path) {
  this.path = mode;
});

Given('the wearables reach the cloud through a gateway that {gateway mode} and {malice}', function (this: TestbedWorld, mode: Path, malice: GatewayMalice) {
  this.path = mode;
  this.malice.push(malice);
  this.attach(`gateway malice: ${malice.explain()}`, { mediaType: 'text/plain' });
});

When('{device} reports {int} readings', async function (this: TestbedWorld, deviceId: string, count: number) {
  const topology = await this.topology();
  this.sent.push(...(await topology.report(deviceId, count)));
  await topology.settle();
});
