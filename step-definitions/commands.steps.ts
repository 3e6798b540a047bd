/**
 * Cloud→device commands (issue 13; source chapter §17.5 "Missing Input Validation on Device
 * Commands"): the cloud sends sealed commands, and each Then reads what the device did (its own
 * records and state) or what reached the cloud (its audit of the device's sealed responses).
 */
import { Given, Then, When } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { readPem } from '../certs/pki-files.ts';
import type { CommandHandlerName } from '../emulators/commands/command-handlers.ts';
import type { CommandRefusal } from '../emulators/commands/device-commands.ts';
import type { DownstreamMalice } from '../emulators/command-malice.ts';
import { commandsOf, waitForResponses, type DeviceCommandRecords } from '../topology/command-topology.ts';
import type { Observation } from '../emulators/observation-log.ts';
import type { TestbedWorld } from './world.ts';

Given('{device} takes cloud commands with the {command handler}', function (this: TestbedWorld, _deviceId: string, handler: CommandHandlerName) {
  if (this.started) throw new Error('declare the command handler before the cloud sends anything (Given steps come before When steps)');
  this.deviceCommands = handler;
  // Real time: the rate limit (10 commands per 60 s) is judged on the device's clock, and at the
  // readings' 600× a minute would pass in 0.1 s of wall time.
  this.speedup = 1;
});

Given('the gateway {command malice}', function (this: TestbedWorld, malice: DownstreamMalice) {
  if (this.path !== 'terminating-gateway') throw new Error('only a gateway that terminates TLS can touch commands; declare it first');
  this.malice.push(malice);
  this.attach(`gateway malice: ${malice.explain()}`, { mediaType: 'text/plain' });
});

/** Commands the cloud has sent each device in this scenario, in order. */
const sentCount = new WeakMap<TestbedWorld, Map<string, number>>();

async function send(world: TestbedWorld, deviceId: string, bodies: readonly string[]): Promise<void> {
  const commands = commandsOf(await world.topology());
  const counts = sentCount.get(world) ?? new Map<string, number>();
  sentCount.set(world, counts);
  for (const body of bodies) await commands.sendCommand(deviceId, body);
  counts.set(deviceId, (counts.get(deviceId) ?? 0) + bodies.length);
  // Every command is answered, executed or refused: wait for as many audited responses.
  await waitForResponses(commands, deviceId, counts.get(deviceId) as number);
}

When('the cloud sends {device} the command {string}', async function (this: TestbedWorld, deviceId: string, body: string) {
  await send(this, deviceId, [body]);
});

When('the cloud sends {device} the commands:', async function (this: TestbedWorld, deviceId: string, table: { raw(): string[][] }) {
  await send(this, deviceId, table.raw().map((row) => row[0] as string));
});

When('the cloud sends {device} {int} {string} commands in a burst', async function (this: TestbedWorld, deviceId: string, count: number, body: string) {
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw new Error(`a burst is 1..1000 commands, got ${count}`);
  await send(this, deviceId, Array.from({ length: count }, () => body));
});

async function records(world: TestbedWorld, deviceId: string): Promise<DeviceCommandRecords> {
  return commandsOf(await world.topology()).deviceCommandRecords(deviceId);
}

/** The device's record of one command (by the cloud's command number), waited for a moment. */
async function recordOf(world: TestbedWorld, deviceId: string, command: number, match: (o: Observation) => boolean = () => true): Promise<Observation[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const found = (await records(world, deviceId)).records.filter((o) => o.detail.command === String(command) && match(o));
    if (found.length > 0 || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function describe(rs: readonly Observation[]): string {
  return rs.map((o) => o.summary).join('\n  ') || '(no command records)';
}

Then('{device} executed command {int}', async function (this: TestbedWorld, deviceId: string, n: number) {
  const found = await recordOf(this, deviceId, n);
  assert.ok(found.some((o) => o.kind === 'command-executed'), `${deviceId} did not execute command ${n}; its records:\n  ${describe((await records(this, deviceId)).records)}`);
});

Then('{device} {command refusal} command {int}', async function (this: TestbedWorld, deviceId: string, reason: CommandRefusal, n: number) {
  const found = await recordOf(this, deviceId, n, (o) => o.kind === 'command-refused' && o.detail.reason === reason);
  assert.ok(found.length > 0, `${deviceId} has no record of refusing command ${n} as "${reason}"; its records:\n  ${describe((await records(this, deviceId)).records)}`);
});

Then('{device} {command refusal} a command the cloud never sent', async function (this: TestbedWorld, deviceId: string, reason: CommandRefusal) {
  const sent = sentCount.get(this)?.get(deviceId) ?? 0;
  const deadline = Date.now() + 5_000;
  let foreign: Observation[] = [];
  while (foreign.length === 0 && Date.now() < deadline) {
    foreign = (await records(this, deviceId)).records.filter((o) => o.kind === 'command-refused' && o.detail.reason === reason && !(Number(o.detail.command) >= 1 && Number(o.detail.command) <= sent));
    if (foreign.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(foreign.length > 0, `${deviceId} has no record of refusing a foreign command as "${reason}"; its records:\n  ${describe((await records(this, deviceId)).records)}`);
});

Then('the cloud audit shows {device} {command refusal} command {int}, with the reason', async function (this: TestbedWorld, deviceId: string, reason: CommandRefusal, n: number) {
  const audit = await commandsOf(await this.topology()).commandResponses();
  const entry = audit.find((e) => e.deviceId === deviceId && e.verdict === 'accepted' && e.answer?.command === String(n));
  assert.ok(entry?.answer, `the cloud audited no authentic response from ${deviceId} to command ${n}; audit: ${JSON.stringify(audit.map((e) => e.detail))}`);
  assert.equal(entry.answer.verdict, 'refused', `the cloud audit shows command ${n} ${entry.answer.verdict}: ${entry.answer.detail}`);
  assert.equal(entry.answer.reason, reason);
  assert.ok(entry.answer.detail.length > 10, `the refusal carries no reason a person can act on: "${entry.answer.detail}"`);
});

Then('{device}\'s thermostat is set to {float} °C', async function (this: TestbedWorld, deviceId: string, celsius: number) {
  const { status, setPointsApplied } = await records(this, deviceId);
  assert.equal(status.setPointC, celsius, `${deviceId}'s set point is ${status.setPointC} °C (applied in order: ${setPointsApplied.join(', ') || 'none'})`);
});

Then('{device} applied the set points {string} and no others', async function (this: TestbedWorld, deviceId: string, list: string) {
  const expected = list.split(',').map((s) => Number(s.trim()));
  assert.deepEqual((await records(this, deviceId)).setPointsApplied, expected);
});

Then('{device} rebooted {int} time(s) and refused {int} command(s) as {string}', async function (this: TestbedWorld, deviceId: string, reboots: number, refused: number, reason: string) {
  const r = await records(this, deviceId);
  assert.equal(r.status.reboots, reboots, `${deviceId} rebooted ${r.status.reboots} times`);
  assert.equal(r.records.filter((o) => o.kind === 'command-refused' && o.detail.reason === reason).length, refused);
});

/** The device's private key, as the run's PKI holds it (the cloud must never see it). */
function deviceKey(world: TestbedWorld, deviceId: string): string {
  const pki = (world.started as unknown as { pki: { wearable(id: string): { key: string } } }).pki;
  return readPem(pki.wearable(deviceId).key, `the ${deviceId} device key`).trim();
}

Then('the device\'s private key reached the cloud in {device}\'s response', async function (this: TestbedWorld, deviceId: string) {
  const key = deviceKey(this, deviceId);
  const audit = await commandsOf(await this.topology()).commandResponses();
  const leaked = audit.filter((e) => e.deviceId === deviceId && e.answer?.output?.includes(key));
  assert.ok(leaked.length > 0, `no response from ${deviceId} carried its private key; outputs: ${JSON.stringify(audit.map((e) => e.answer?.output?.slice(0, 80)))}`);
  this.attach(`${deviceId} answered with its own private key (${key.length} characters, first line ${key.split('\n')[0]})`, { mediaType: 'text/plain' });
});

Then('no response the cloud audited holds {device}\'s private key', async function (this: TestbedWorld, deviceId: string) {
  const key = deviceKey(this, deviceId);
  const body = key.split('\n').slice(1, -1).join('');
  const audit = await commandsOf(await this.topology()).commandResponses();
  assert.ok(audit.length > 0, 'the cloud audited no response at all; nothing to judge');
  for (const e of audit) {
    const text = JSON.stringify(e);
    assert.ok(!text.includes(body.slice(0, 40)), `response ${e.index} carries ${deviceId}'s private key`);
  }
});

Then('the gateway forwarded {int} sealed command(s) and read none of their text in clear', async function (this: TestbedWorld, count: number) {
  const topology = await this.topology();
  const gateway = await topology.observations('gateway');
  const commands = gateway.filter((o) => o.kind === 'mqtt-packet' && o.detail.direction === 'cloud-to-device' && o.detail.cmd === 'publish' && String(o.detail.topic).endsWith('/commands'));
  assert.equal(commands.length, count, `the gateway carried ${commands.length} command publishes`);
  for (const word of ['set_temp', 'get_status', '"command"', '"temp"']) {
    for (const o of gateway) assert.ok(!o.bytes || !Buffer.from(o.bytes).includes(word), `the gateway's record "${o.summary}" holds "${word}" in clear`);
  }
});

Then('the gateway forwarded {device}\'s response(s) sealed, with no device state in clear', async function (this: TestbedWorld, _deviceId: string) {
  const gateway = await (await this.topology()).observations('gateway');
  const responses = gateway.filter((o) => o.kind === 'mqtt-packet' && o.detail.direction === 'device-to-cloud' && String(o.detail.topic).endsWith('/responses'));
  assert.ok(responses.length > 0, 'the gateway carried no response');
  for (const word of ['executed', 'refused', 'setPointC', 'verdict']) {
    for (const o of responses) assert.ok(!Buffer.from(o.bytes ?? []).includes(word), `a response the gateway held shows "${word}" in clear`);
  }
});
