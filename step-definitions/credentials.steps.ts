/**
 * What a passive observer of a link learns about a device's credentials: searched byte for byte
 * in the capture, and dissected by tshark as an analyst would see it in Wireshark.
 */
import { Then } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { readPcap, reassembleTcpStreams } from '../capture/pcap-reader.ts';
import { findLeaks, textSecret, type Haystack } from '../analysis/leak-search.ts';
import { plainMqttConnects, serverPort } from '../analysis/tshark.ts';
import type { TestbedWorld } from './world.ts';

async function captureOf(world: TestbedWorld, link: string): Promise<{ path: string; haystacks: Haystack[]; port: number }> {
  const evidence = await world.finish();
  const capture = evidence?.captures.find((c) => c.link === link);
  if (!capture) throw new Error(`no capture of link "${link}"; captured links: ${evidence?.captures.map((c) => c.link).join(', ') ?? 'none'}`);
  const streams = reassembleTcpStreams(readPcap(capture.path).packets);
  assert.ok(streams.length > 0, `the ${link} capture holds no TCP conversation`);
  const haystacks = streams.flatMap((s, i) => [
    { label: `${link} conversation ${i + 1} client→server`, bytes: s.clientToServer },
    { label: `${link} conversation ${i + 1} server→client`, bytes: s.serverToClient },
  ]);
  return { path: capture.path, haystacks, port: serverPort(streams) };
}

function deviceOf(world: TestbedWorld, deviceId: string) {
  const device = world.started?.devices().find((d) => d.deviceId === deviceId);
  if (!device) throw new Error(`no device ${deviceId} in this scenario`);
  return device;
}

function credentialsOf(world: TestbedWorld, deviceId: string) {
  return [textSecret(`${deviceId}'s MQTT username`, deviceId), textSecret(`${deviceId}'s MQTT password`, deviceOf(world, deviceId).mqttPassword)];
}

Then('the {word} capture shows {device}\'s MQTT username and password in clear', async function (this: TestbedWorld, link: string, deviceId: string) {
  const secrets = credentialsOf(this, deviceId);
  const { haystacks } = await captureOf(this, link);
  const leaks = findLeaks(secrets, haystacks);
  assert.deepEqual([...new Set(leaks.map((l) => l.secret))].sort(), secrets.map((s) => s.label).sort(), `expected both credentials in the ${link} capture`);
});

// The analyst's view, in a scenario of its own (@needs-tshark) so the byte search above runs
// without tshark: Wireshark's MQTT dissector shows the CONNECT fields.
Then('tshark\'s MQTT dissector shows {device}\'s CONNECT username and password in the {word} capture', async function (this: TestbedWorld, deviceId: string, link: string) {
  const device = deviceOf(this, deviceId);
  const { path, port } = await captureOf(this, link);
  const connects = await plainMqttConnects(path, port);
  assert.ok(
    connects.some((c) => c.username === deviceId && c.password === device.mqttPassword),
    `tshark did not dissect ${deviceId}'s CONNECT credentials from ${path}: ${JSON.stringify(connects)}`,
  );
  this.attach(`tshark -r ${path} -d tcp.port==${port},mqtt -Y mqtt.msgtype==1 shows:\n${connects.map((c) => `frame ${c.frame}: client id "${c.clientId}", username "${c.username}", password "${c.password}"`).join('\n')}`, { mediaType: 'text/plain' });
});

Then('the {word} capture does not show {device}\'s MQTT username or password', async function (this: TestbedWorld, link: string, deviceId: string) {
  const secrets = credentialsOf(this, deviceId);
  const { haystacks } = await captureOf(this, link);
  assert.deepEqual(findLeaks(secrets, haystacks), [], `credentials visible in the ${link} capture`);
});
