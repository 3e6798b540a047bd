/**
 * The gateway malice `downgrade` (docs/architecture.md §3 Roles): a TLS-terminating gateway offers the device
 * only TLS 1.2 with a CBC suite. Judged from what each party saw: the device's own records, the
 * gateway's records, and the device-gateway capture (ClientHello, ServerHello, alerts).
 */
import { Given, Then } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { readPcap, reassembleTcpStreams, type TcpStream } from '../capture/pcap-reader.ts';
import { wireAlerts } from '../analysis/tls-alerts.ts';
import { cipherSuiteName, parseClientHello, TLS_VERSION_NAMES } from '../analysis/tls-client-hello.ts';
import { mqttPacketsInClear } from '../analysis/mqtt-in-clear.ts';
import { downgrade } from '../emulators/gateway-malice.ts';
import type { Path } from '../topology/topology.ts';
import type { TestbedWorld } from './world.ts';

const versionName = (v: number) => TLS_VERSION_NAMES[v] ?? `0x${v.toString(16)}`;

Given('the wearables reach the cloud through a gateway that {gateway mode} and offers the device only TLS 1.2 with a CBC suite', function (this: TestbedWorld, mode: Path) {
  const malice = downgrade();
  this.path = mode;
  this.malice.push(malice);
  this.attach(`gateway malice: ${malice.explain()}`, { mediaType: 'text/plain' });
});

Then('{device}\'s own records show its TLS handshake with the gateway failing with {string}', async function (this: TestbedWorld, deviceId: string, reason: string) {
  const records = await (await this.topology()).observations(`wearable:${deviceId}`);
  const errors = records.filter((o) => o.kind === 'tls-error' || o.kind === 'mqtt-error');
  assert.ok(errors.some((o) => o.summary.includes(reason)), `${deviceId} recorded no TLS error with "${reason}"; its errors: ${errors.map((o) => o.summary).join('; ') || 'none'}`);
  const handshakes = records.filter((o) => o.kind === 'tls-handshake' || o.kind === 'mqtt-connected');
  assert.deepEqual(handshakes.map((o) => o.summary), [], `${deviceId} completed a handshake or an MQTT session`);
  this.attach(`${deviceId}'s errors:\n${errors.map((o) => o.summary).join('\n')}`, { mediaType: 'text/plain' });
});

Then('{device}\'s own records show a TLS handshake with the gateway using {word} {word}', async function (this: TestbedWorld, deviceId: string, version: string, suite: string) {
  const records = await (await this.topology()).observations(`wearable:${deviceId}`);
  const handshakes = records.filter((o) => o.kind === 'tls-handshake');
  assert.ok(handshakes.length > 0, `${deviceId} recorded no TLS handshake: ${records.map((o) => `${o.kind}: ${o.summary}`).join('; ')}`);
  for (const h of handshakes) assert.ok(h.summary.includes(`${version} ${suite}`), `${deviceId}'s handshake was not ${version} ${suite}: ${h.summary}`);
});

Then('the gateway\'s records show it read {device}\'s CONNECT and {int} PUBLISH packets in clear', async function (this: TestbedWorld, deviceId: string, publishes: number) {
  const records = (await (await this.topology()).observations('gateway')).filter((o) => o.kind === 'mqtt-packet' && o.detail.direction === 'device-to-cloud');
  assert.ok(records.some((o) => o.detail.cmd === 'connect' && o.detail.clientId === deviceId), `the gateway read no CONNECT from ${deviceId}: ${records.map((o) => o.summary).join('; ') || 'no MQTT packet'}`);
  const read = records.filter((o) => o.detail.cmd === 'publish').length;
  assert.ok(read >= publishes, `the gateway read ${read} PUBLISH packets from the device, expected at least ${publishes}`);
});

Then('the gateway read no MQTT packet from the device and the cloud audited nothing', async function (this: TestbedWorld) {
  const topology = await this.topology();
  const read = (await topology.observations('gateway')).filter((o) => o.kind === 'mqtt-packet');
  assert.deepEqual(read.map((o) => o.summary), [], 'the gateway read MQTT packets');
  assert.deepEqual((await topology.audit()).map((e) => `${e.deviceId} #${String(e.sequence)} ${e.verdict}`), [], 'the cloud audited readings');
});

/** The TLS conversations on the device-gateway link (the topology is finished first: captures close). */
async function deviceLinkStreams(world: TestbedWorld): Promise<TcpStream[]> {
  const link = 'device-gateway';
  const evidence = await world.finish();
  const capture = evidence?.captures.find((c) => c.link === link);
  if (!capture) throw new Error(`no capture of link "${link}"; captured links: ${evidence?.captures.map((c) => c.link).join(', ') ?? 'none'}`);
  const streams = reassembleTcpStreams(readPcap(capture.path).packets).filter((s) => s.clientToServer.length > 0);
  assert.ok(streams.length > 0, `the ${link} capture (${capture.path}) holds no TCP conversation with client bytes`);
  return streams;
}

Then('the device-gateway capture shows the device offering only TLS 1.3 and the gateway answering with a {string} alert, and no MQTT in clear', async function (this: TestbedWorld, alert: string) {
  for (const [i, s] of (await deviceLinkStreams(this)).entries()) {
    const label = `device-gateway conversation ${i + 1}`;
    const hello = parseClientHello(s.clientToServer);
    assert.ok(hello.ok, `${label}: no ClientHello (${hello.ok ? '' : hello.reason})`);
    assert.deepEqual(hello.hello.versions.map(versionName), ['TLS 1.3'], `${label}: the device offered ${hello.hello.versions.map(versionName).join(', ')}`);
    const wire = wireAlerts(s);
    assert.equal(wire.serverHello, undefined, `${label}: the gateway sent a ServerHello (${wire.serverHello ? versionName(wire.serverHello.version) : ''}): a handshake went ahead`);
    assert.ok(wire.alerts.some((a) => a.name.startsWith(`${alert} `)), `${label}: no "${alert}" alert; alerts: ${wire.alerts.map((a) => `${a.from} ${a.name}`).join(', ') || 'none'}`);
    assert.deepEqual(mqttPacketsInClear(s.clientToServer).map((p) => p.summary), [], `${label}: MQTT in clear from the device`);
    this.attach(`${label}: offered ${hello.hello.versions.map(versionName).join(', ')}; alerts ${wire.alerts.map((a) => `${a.from} ${a.level} ${a.name}`).join(', ')}`, { mediaType: 'text/plain' });
  }
});

Then('the device-gateway capture shows every ServerHello selecting {word} {word}', async function (this: TestbedWorld, version: string, suite: string) {
  const wanted = `${version.replace('TLSv', 'TLS ')} ${suite}`;
  for (const [i, s] of (await deviceLinkStreams(this)).entries()) {
    const hello = wireAlerts(s).serverHello;
    const chose = hello ? `${versionName(hello.version)} ${cipherSuiteName(hello.cipherSuite)}` : 'no ServerHello';
    assert.equal(chose, wanted, `device-gateway conversation ${i + 1}: the gateway's ServerHello chose ${chose}`);
    this.attach(`device-gateway conversation ${i + 1}: ServerHello ${chose}`, { mediaType: 'text/plain' });
  }
});
