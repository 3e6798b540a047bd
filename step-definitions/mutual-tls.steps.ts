/**
 * Mutual TLS at the broker: who gets in is decided by the client certificate the broker verified,
 * never by what a client claims. Judged from the broker's own records and the cloud's audit.
 */
import { After, Given, Then, When, defineParameterType } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { generatePki } from '../certs/pki.ts';
import { attackerKeyPem, probeBroker, type DeviceCredential, type ProbeResult } from '../emulators/device-credentials.ts';
import { E3Sealer } from '../crypto/e3-sealer.ts';
import { encodeReading } from '../crypto/e3-reading.ts';
import { rawP256PrivateKey, rawP256PublicKey } from '../crypto/e3-key-derivation.ts';
import { VitalSigns } from '../emulators/vital-signs.ts';
import { e3Topic } from '../emulators/wearable.ts';
import { CloudRig } from '../topology/cloud-rig.ts';
import type { TestbedWorld } from './world.ts';
import { scenarioState } from './scenario-state.ts';

type CredentialSpec = { text: string; build: (rig: CloudRig) => Promise<DeviceCredential> };

defineParameterType({
  name: 'device credential',
  regexp: /no client certificate|a certificate from another CA|(?:wearable-\d{4})'s certificate with (?:wearable-\d{4})'s key|(?:wearable-\d{4})'s certificate with an attacker's key|its own certificate and key/,
  transformer: (text: string): CredentialSpec => {
    const ids = [...text.matchAll(/wearable-\d{4}/g)].map((m) => m[0]);
    const issued = (rig: CloudRig, id: string) => {
      const c = rig.pki.wearables.get(id);
      if (!c) throw new Error(`no ${id} in this scenario; the cloud has ${[...rig.pki.wearables.keys()].join(', ')}`);
      return c;
    };
    if (text === 'no client certificate') return { text, build: async () => ({ kind: 'none' }) };
    if (text === 'its own certificate and key') return { text, build: async (rig) => ({ kind: 'genuine', certChainPem: issued(rig, 'wearable-0001').chainPem, keyPem: issued(rig, 'wearable-0001').keyPem }) };
    if (text === 'a certificate from another CA')
      return {
        text,
        build: async () => {
          // Same device name, same shape, but an attacker's CA: only the issuer differs.
          const other = (await generatePki({ wearableIds: ['wearable-0001'] })).wearables.get('wearable-0001');
          return { kind: 'other-ca', certChainPem: other?.chainPem as string, keyPem: other?.keyPem as string };
        },
      };
    if (text.endsWith("an attacker's key")) return { text, build: async (rig) => ({ kind: 'foreign-key', certChainPem: issued(rig, ids[0] as string).chainPem, keyPem: attackerKeyPem() }) };
    return { text, build: async (rig) => ({ kind: 'foreign-key', certChainPem: issued(rig, ids[0] as string).chainPem, keyPem: issued(rig, ids[1] as string).keyPem }) };
  },
});

const state = scenarioState<{ rig?: CloudRig; result?: ProbeResult; credential?: string }>(() => ({}));

function rigOf(w: TestbedWorld): CloudRig {
  const rig = state(w).rig;
  if (!rig) throw new Error('start the cloud first: "Given a cloud broker that requires client certificates, with wearable-0001 and wearable-0002 provisioned"');
  return rig;
}

Given('a cloud broker that requires client certificates, with wearable-0001 and wearable-0002 provisioned', async function (this: TestbedWorld) {
  state(this).rig = await CloudRig.start({ dir: this.dir, wearableIds: ['wearable-0001', 'wearable-0002'] });
});

/**
 * The client can finish before the broker has written its own record of the attempt (a refused
 * handshake is logged when the broker's socket errors; a reading is audited after PUBACK), so
 * wait, bounded, for the records the Then steps judge: the broker's handshake verdict and, when
 * the reading was acknowledged, the cloud's audit entry.
 */
async function brokerVerdict(rig: CloudRig, result: ProbeResult, timeoutMs = 5_000): Promise<void> {
  await rig.broker.log.waitFor("the broker's record of the TLS handshake (tls-handshake or tls-error)", (o) => o.kind === 'tls-handshake' || o.kind === 'tls-error', timeoutMs);
  if (result.connackReturnCode === 0) await rig.service.log.waitFor("the cloud service's audit of the acknowledged reading", (o) => o.kind === 'audit', timeoutMs);
}

When('a device connects to the cloud broker as wearable-0001 with {device credential} and publishes a reading', async function (this: TestbedWorld, spec: CredentialSpec) {
  const rig = rigOf(this);
  const device = rig.devices[0];
  if (!device) throw new Error('no device provisioned');
  const sealer = new E3Sealer({
    pseudonym: Buffer.from(device.pseudonymHex, 'hex'),
    devicePrivateKey: rawP256PrivateKey(rig.pki.wearables.get(device.deviceId)?.keyPem as string),
    cloudPublicKey: rawP256PublicKey(rig.pki.cloudE3.publicKeyPem),
    algorithm: device.algorithm,
    salt: Buffer.from(device.saltHex, 'hex'),
    nextSequence: 1n,
  });
  const result = await probeBroker({
    credential: await spec.build(rig),
    caPem: rig.pki.rootCa.certPem,
    ...rig.endpoint,
    serverName: 'cloud.testbed.local',
    clientId: device.deviceId,
    topic: e3Topic(device.pseudonymHex),
    payload: sealer.seal(encodeReading(new VitalSigns(1).next()), Math.floor(Date.now() / 1000)),
    timeoutMs: 5_000,
  });
  state(this).result = result;
  state(this).credential = spec.text;
  await brokerVerdict(rig, result);
  this.attach(`credential: ${spec.text}\nprobe: ${JSON.stringify(result)}\nbroker:\n${rig.broker.log.all().map((o) => `  ${o.kind}: ${o.summary}`).join('\n')}`, { mediaType: 'text/plain' });
});

Then('the cloud broker refuses the TLS handshake because {string}', function (this: TestbedWorld, reason: string) {
  const rig = rigOf(this);
  const errors = rig.broker.log.ofKind('tls-error');
  assert.equal(rig.broker.log.ofKind('tls-handshake').length, 0, `the broker completed a TLS handshake with ${state(this).credential}`);
  assert.ok(errors.length > 0, `the broker recorded no refused handshake; the client saw: ${JSON.stringify(state(this).result)}`);
  assert.ok(errors.some((e) => String(e.detail.message).includes(reason)), `the broker refused for another reason: ${errors.map((e) => e.detail.message).join('; ')}`);
  assert.equal(state(this).result?.handshakeCompleted && state(this).result?.connackReturnCode === 0, false, 'the client got an MQTT session');
});

Then('the cloud broker accepts the session as wearable-0001 and the cloud audits its reading', function (this: TestbedWorld) {
  const rig = rigOf(this);
  const connects = rig.broker.log.ofKind('mqtt-connect').filter((o) => o.detail.accepted === true);
  assert.equal(connects.length, 1, `the broker accepted ${connects.length} MQTT sessions: ${JSON.stringify(state(this).result)}`);
  assert.equal(connects[0]?.detail.identity, 'wearable-0001');
  const audit = rig.service.audit();
  assert.equal(audit.length, 1, 'the cloud audited no reading');
  assert.equal(audit[0]?.verdict, 'accepted', `the reading was rejected: ${audit[0]?.detail}`);
});

Then('nothing reached the cloud service', function (this: TestbedWorld) {
  const rig = rigOf(this);
  assert.equal(rig.broker.log.ofKind('mqtt-connect').filter((o) => o.detail.accepted === true).length, 0, 'the broker accepted an MQTT session');
  assert.equal(rig.service.audit().length, 0, 'the cloud service audited a packet');
});

After(async function (this: TestbedWorld) {
  await state(this).rig?.stop();
});
