/**
 * Cloud→device commands end to end in memory: the cloud seals (node:crypto), the device opens
 * (@noble/ciphers), each profile's handler runs, and the cloud audits the sealed response.
 * Also: what a gateway can do to a command in flight (alter, replay, forge) and bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { generatePki } from '../../certs/pki.ts';
import { DeviceRegistry } from '../cloud/device-registry.ts';
import { CommandCenter } from '../cloud/command-center.ts';
import { provisionDevice } from '../provisioning.ts';
import { DEVICE_KEY_PATH, DeviceCommands } from './device-commands.ts';
import { responseTopic } from './command-topics.ts';
import { deriveDeviceKeyNoble, rawP256PrivateKey, rawP256PublicKey } from '../../crypto/e3-key-derivation.ts';

const NOW = 1_700_000_000;

async function rig(handler: 'secure' | 'vulnerable') {
  const pki = await generatePki({ wearableIds: ['wearable-0001'] });
  const provisioning = provisionDevice('wearable-0001', 1);
  const issued = pki.wearables.get('wearable-0001');
  assert.ok(issued);
  const registry = new DeviceRegistry();
  registry.register(provisioning, issued.certPem);
  const clock = { now: NOW, nowSec() { return this.now; } };
  const wire: { topic: string; payload: Uint8Array }[] = [];
  const cloud = new CommandCenter({ registry, cloudE3PrivateKey: createPrivateKey(pki.cloudE3.privateKeyPem), nowSec: () => clock.now, publish: (topic, payload) => wire.push({ topic, payload }) });
  const device = new DeviceCommands({ provisioning, deviceKeyPem: issued.keyPem, cloudE3PublicKeyPem: pki.cloudE3.publicKeyPem, handler, clock });
  /** Cloud sends, device handles what arrived (or what `alter` made of it), cloud audits the answer. */
  const roundTrip = (body: string, alter: (b: Uint8Array) => Uint8Array = (b) => b) => {
    cloud.send('wearable-0001', body);
    const { payload } = wire.at(-1) as { payload: Uint8Array };
    const { response, answer } = device.handle(alter(payload));
    const audit = cloud.ingestResponse(response, responseTopic(provisioning.pseudonymHex));
    return { answer, audit, payload };
  };
  return { pki, issued, provisioning, cloud, device, clock, wire, roundTrip };
}

test('readings, commands and responses are sealed under three different keys (one per direction, RFC 5116 §5.1.1)', async () => {
  const { pki, issued, provisioning } = await rig('secure');
  const args = { devicePrivateKey: rawP256PrivateKey(issued.keyPem), cloudPublicKey: rawP256PublicKey(pki.cloudE3.publicKeyPem), pseudonym: Buffer.from(provisioning.pseudonymHex, 'hex'), epoch: 19675, algorithm: provisioning.algorithm };
  const keys = (['readings', 'commands', 'responses'] as const).map((channel) => Buffer.from(deriveDeviceKeyNoble({ ...args, channel })).toString('hex'));
  assert.equal(new Set(keys).size, 3);
  assert.equal(keys[0], Buffer.from(deriveDeviceKeyNoble(args)).toString('hex'), 'readings keep the original key when no channel is named');
});

test('secure profile: valid commands execute; out-of-range, injection and unknown commands are refused with the reason, and the cloud audits each answer', async () => {
  const { device, roundTrip } = await rig('secure');
  assert.equal(roundTrip('{"command":"set_temp","temp":22}').audit.answer?.verdict, 'executed');
  assert.equal(device.state.status().setPointC, 22);
  const cases: [string, string][] = [
    ['{"command":"set_temp","temp":1000}', 'range'],
    ['{"command":"set_temp","temp":"22; cat /secure/device.key"}', 'type'],
    ['{"command":"cat /secure/device.key"}', 'not allowed'],
    ['{"command":', 'malformed'],
  ];
  for (const [body, reason] of cases) {
    const { answer, audit } = roundTrip(body);
    assert.equal(answer.reason, reason, body);
    assert.equal(audit.verdict, 'accepted');
    assert.equal(audit.answer?.reason, reason);
  }
  assert.equal(device.state.status().setPointC, 22, 'nothing refused changed the set point');
  assert.equal(device.log.ofKind('command-refused').length, 4);
});

test('vulnerable profile: the WRONG handler applies 1000 °C and an injected `cat` sends the device key back to the cloud', async () => {
  const { device, roundTrip, issued } = await rig('vulnerable');
  roundTrip('{"command":"set_temp","temp":1000}');
  assert.equal(device.state.status().setPointC, 1000);
  const { audit } = roundTrip(`{"command":"set_temp","temp":"22; cat ${DEVICE_KEY_PATH}"}`);
  assert.equal(device.state.status().setPointC, 22);
  assert.ok(audit.answer?.output?.includes(issued.keyPem.trim()), 'the device key reached the cloud in the response');
});

test('secure profile: a flood beyond 10 commands per 60 s of device time is refused "rate limit"; the limit frees up as time passes', async () => {
  const { device, roundTrip, clock } = await rig('secure');
  const verdicts = Array.from({ length: 25 }, () => roundTrip('{"command":"reboot"}').answer.reason ?? 'executed');
  assert.equal(verdicts.filter((v) => v === 'executed').length, 10);
  assert.equal(verdicts.filter((v) => v === 'rate limit').length, 15);
  assert.equal(device.state.status().reboots, 10);
  clock.now += 61;
  assert.equal(roundTrip('{"command":"reboot"}').answer.verdict, 'executed');
});

test('a command altered, replayed or forged on the way is refused by the device (bad tag, replay, wrong device, malformed); genuine ones before and after still run', async () => {
  const { device, roundTrip, wire, provisioning } = await rig('secure');
  assert.equal(roundTrip('{"command":"set_temp","temp":20}').answer.verdict, 'executed');
  const altered = roundTrip('{"command":"set_temp","temp":30}', (b) => {
    const c = Uint8Array.from(b);
    c[40] = (c[40] as number) ^ 1;
    return c;
  });
  assert.equal(altered.answer.reason, 'bad tag');
  const first = (wire[0] as { payload: Uint8Array }).payload;
  assert.equal(device.handle(first).answer.reason, 'replay');
  const forged = Uint8Array.from(first);
  forged.set(randomBytes(16), forged.length - 16);
  forged[32] = 0x7f; // a fresh sequence, but no key to make its tag
  assert.equal(device.handle(forged).answer.reason, 'bad tag');
  assert.equal(device.handle(new Uint8Array([1, 2, 3])).answer.reason, 'malformed');
  const other = Uint8Array.from(first);
  other.set(Buffer.from(provisioning.pseudonymHex, 'hex').reverse(), 1);
  assert.equal(device.handle(other).answer.reason, 'wrong device');
  assert.equal(roundTrip('{"command":"set_temp","temp":25}').answer.verdict, 'executed', 'the forged sequence did not slide the replay window');
  assert.equal(device.state.status().setPointC, 25);
  assert.deepEqual(device.state.setPointsApplied, [20, 25]);
});

test('a response altered on its way back is rejected by the cloud audit, not believed', async () => {
  const { cloud, device, wire, provisioning } = await rig('secure');
  cloud.send('wearable-0001', '{"command":"get_status"}');
  const { response } = device.handle((wire[0] as { payload: Uint8Array }).payload);
  const altered = Uint8Array.from(response);
  altered[35] = (altered[35] as number) ^ 0x80;
  assert.equal(cloud.ingestResponse(altered, responseTopic(provisioning.pseudonymHex)).reason, 'bad tag');
  assert.equal(cloud.ingestResponse(response, 'wearables/unknown/responses').reason, 'unknown device');
  assert.equal(cloud.ingestResponse(response, responseTopic(provisioning.pseudonymHex)).verdict, 'accepted');
});

test('bad input: an unknown profile and an unknown device are clear errors', async () => {
  const { provisioning, issued, pki, cloud } = await rig('secure');
  assert.throws(() => new DeviceCommands({ provisioning, deviceKeyPem: issued.keyPem, cloudE3PublicKeyPem: pki.cloudE3.publicKeyPem, handler: 'trusting' as 'secure', clock: { nowSec: () => NOW } }), /unknown command handler profile "trusting"; use one of secure, vulnerable/);
  assert.throws(() => cloud.send('wearable-9999', '{"command":"get_status"}'), /no device "wearable-9999"/);
});
