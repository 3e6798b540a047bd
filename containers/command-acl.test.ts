/** Mosquitto's ACL and the role configs for device commands (issue 13). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CloudBrokerContainer } from './cloud-broker-container.ts';
import { parseRoleConfig } from './role-config.ts';
import { provisionDevice } from '../emulators/provisioning.ts';

const device = { ...provisionDevice('wearable-0001', 1), pseudonymHex: 'ab'.repeat(16) };
const other = { ...provisionDevice('wearable-0002', 2), pseudonymHex: 'cd'.repeat(16) };
const broker = () => new CloudBrokerContainer('img').withDevices([device, other]).withGateway('gateway-01').withSubscriber('cloud-service');

test('with commands: each device reads only its own command topic and writes only its own response topic; the gateway forwards both; the cloud service writes commands and reads responses', () => {
  const acl = broker().withDeviceCommandsIf(true).acl();
  assert.match(acl, new RegExp(`user wearable-0001\\ntopic write wearables/${'ab'.repeat(16)}/e3\\ntopic read wearables/${'ab'.repeat(16)}/commands\\ntopic write wearables/${'ab'.repeat(16)}/responses\\n`));
  assert.ok(!/user wearable-0001\n[^\n]*\n[^\n]*cd{4}/.test(acl), 'a device is granted nothing of another device');
  assert.match(acl, /user gateway-01\ntopic write wearables\/\+\/e3\ntopic read wearables\/\+\/commands\ntopic write wearables\/\+\/responses\n/);
  assert.match(acl, /user cloud-service\ntopic read wearables\/\+\/e3\ntopic write wearables\/\+\/commands\ntopic read wearables\/\+\/responses\n/);
  assert.ok(!acl.includes('topic write wearables/+/commands\n') || acl.indexOf('topic write wearables/+/commands') > acl.indexOf('user cloud-service'), 'only the cloud service writes commands');
});

test('without commands the ACL grants no command or response topic', () => {
  assert.ok(!/commands|responses/.test(broker().acl()));
  assert.ok(!/commands|responses/.test(broker().withDeviceCommandsIf(false).acl()));
});

test('role configs: an unknown command handler is refused with the valid choices', () => {
  const base = { role: 'wearables', devices: [device], endpoint: { host: 'gateway.testbed.local', port: 8883, serverName: 'gateway.testbed.local' }, profile: 'secure', clock: { startSec: 1, speedup: 1, wallStartMs: 1 } };
  assert.equal((parseRoleConfig(JSON.stringify({ ...base, commandHandler: 'vulnerable' }), 'c.json') as { commandHandler?: string }).commandHandler, 'vulnerable');
  assert.throws(() => parseRoleConfig(JSON.stringify({ ...base, commandHandler: 'trusting' }), 'c.json'), /commandHandler.*secure.*vulnerable/s);
});
