/**
 * Mutual TLS at the broker: who gets in is decided by the client certificate the broker verified,
 * never by what a client claims. Judged from the broker's own records (Aedes' handshake log on
 * the local placement, Mosquitto's log on the containers one), the alert it sent on the probe's
 * captured link, and the cloud's audit. The steps hold only the BrokerPolicyRig handles.
 */
import { After, Given, Then, When, defineParameterType } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { generatePki } from '../certs/pki.ts';
import { attackerKeyPem, type DeviceCredential, type ProbeResult } from '../emulators/device-credentials.ts';
import { E3Sealer } from '../crypto/e3-sealer.ts';
import { encodeReading } from '../crypto/e3-reading.ts';
import { rawP256PrivateKey, rawP256PublicKey } from '../crypto/e3-key-derivation.ts';
import { VitalSigns } from '../emulators/vital-signs.ts';
import { e3Topic } from '../emulators/wearable.ts';
import { describeProbe, startBrokerPolicyRig, type BrokerPolicyRig } from '../topology/broker-policy-rig.ts';
import type { WireAlerts } from '../analysis/tls-alerts.ts';
import type { BrokerKind } from '../topology/graph.ts';
import type { TestbedWorld } from './world.ts';
import { scenarioState } from './scenario-state.ts';
import type { Observation } from '../emulators/observation-log.ts';

type CredentialSpec = { text: string; build: (rig: BrokerPolicyRig) => Promise<DeviceCredential> };

defineParameterType({
  name: 'device credential',
  regexp: /no client certificate|a certificate from another CA|(?:wearable-\d{4})'s certificate with (?:wearable-\d{4})'s key|(?:wearable-\d{4})'s certificate with an attacker's key|its own certificate and key/,
  transformer: (text: string): CredentialSpec => {
    const ids = [...text.matchAll(/wearable-\d{4}/g)].map((m) => m[0]);
    const issued = (rig: BrokerPolicyRig, id: string) => {
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

const state = scenarioState<{ rig?: BrokerPolicyRig; result?: ProbeResult; wire?: WireAlerts; credential?: string }>(() => ({}));

function rigOf(w: TestbedWorld): BrokerPolicyRig {
  const rig = state(w).rig;
  if (!rig) throw new Error('start the cloud first: "Given a cloud broker that requires client certificates, with wearable-0001 and wearable-0002 provisioned"');
  return rig;
}

Given('a cloud broker that requires client certificates, with wearable-0001 and wearable-0002 provisioned', async function (this: TestbedWorld) {
  state(this).rig = await startBrokerPolicyRig({ dir: this.dir, wearableIds: ['wearable-0001', 'wearable-0002'], offers: 'device-credential' });
});

function brokerRecord(observations: readonly Observation[]): string {
  return observations.map((o) => `  ${o.kind}: ${o.summary.trim()}`).join('\n');
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
  // The rig waits (bounded) for the broker's own record of the handshake and, for an
  // acknowledged reading, the cloud's audit entry, before it closes the probe's capture.
  const probed = await rig.probeCredential({
    credential: await spec.build(rig),
    clientId: device.deviceId,
    topic: e3Topic(device.pseudonymHex),
    payload: sealer.seal(encodeReading(new VitalSigns(1).next()), Math.floor(Date.now() / 1000)),
  });
  state(this).result = probed.result;
  state(this).wire = probed.wire;
  state(this).credential = spec.text;
  this.attach(`credential: ${spec.text}\nprobe: ${JSON.stringify(probed.result)}\nwire: ${describeProbe(probed)}\n${rig.brokerKind} broker:\n${brokerRecord(await rig.brokerObservations())}`, { mediaType: 'text/plain' });
});

const BROKER_NAMES: Readonly<Record<BrokerKind, string>> = { aedes: 'Aedes', mosquitto: 'Mosquitto' };

/**
 * Both brokers run on OpenSSL but say why in their own words (Aedes: node:tls's error code;
 * Mosquitto: the OpenSSL error line it logs), so the feature states the reason per broker kind.
 */
Then('the cloud broker refuses the TLS handshake because {string} on Aedes or {string} on Mosquitto', async function (this: TestbedWorld, aedesReason: string, mosquittoReason: string) {
  const rig = rigOf(this);
  const reason = rig.brokerKind === 'aedes' ? aedesReason : mosquittoReason;
  const observations = await rig.brokerObservations();
  const errors = observations.filter((o) => o.kind === 'tls-error');
  const seen = `${BROKER_NAMES[rig.brokerKind]} recorded:\n${brokerRecord(observations)}\nthe client saw: ${JSON.stringify(state(this).result)}`;
  assert.equal(observations.filter((o) => o.kind === 'tls-handshake').length, 0, `the broker completed a TLS handshake with ${state(this).credential}\n${seen}`);
  assert.ok(errors.length > 0, `the broker recorded no refused handshake\n${seen}`);
  assert.ok(errors.some((e) => String(e.detail.message).includes(reason)), `${BROKER_NAMES[rig.brokerKind]} refused for another reason than "${reason}"\n${seen}`);
  assert.equal(state(this).result?.handshakeCompleted && state(this).result?.connackReturnCode === 0, false, 'the client got an MQTT session');
});

/**
 * The refusal as the probe's link carries it: the broker's fatal alert (TLS 1.3 alerts after the
 * ServerHello are encrypted, RFC 8446 §5.2: read with the probe's key log), or "none" for a
 * broker that closes the connection without one; either way no application data reached the
 * refused client.
 */
Then("the broker's alert on the probe's link is {word} from Aedes or {word} from Mosquitto", function (this: TestbedWorld, aedesAlert: string, mosquittoAlert: string) {
  const rig = rigOf(this);
  const alert = rig.brokerKind === 'aedes' ? aedesAlert : mosquittoAlert;
  const wire = state(this).wire;
  if (!wire) throw new Error('no probe was captured; add "When a device connects to the cloud broker as wearable-0001 with …"');
  const fromBroker = wire.alerts.filter((a) => a.from === 'server');
  const seen = `alerts on the link: ${wire.alerts.map((a) => `${a.from} ${a.level} ${a.name}`).join(', ') || 'none'}${wire.undecrypted ? `; ${wire.undecrypted} record(s) not decrypted` : ''}${wire.problems.length ? `; ${wire.problems.join('; ')}` : ''}`;
  if (alert === 'none') {
    assert.deepEqual(fromBroker.map((a) => a.name), [], `${BROKER_NAMES[rig.brokerKind]} sent an alert; ${seen}`);
    assert.equal(wire.undecrypted, 0, `records the key log could not open may hide an alert; ${seen}`);
  } else {
    assert.ok(fromBroker.some((a) => a.level === 'fatal' && a.name.startsWith(`${alert} (`)), `${BROKER_NAMES[rig.brokerKind]} sent no fatal ${alert} alert to the probe; ${seen}`);
  }
  assert.equal(wire.serverApplicationRecords, 0, `the broker sent ${wire.serverApplicationRecords} application-data record(s) to a client it refused; ${seen}`);
});

/** MQTT sessions the broker accepted, other than the cloud's own subscriber. */
async function deviceSessions(rig: BrokerPolicyRig): Promise<Observation[]> {
  return (await rig.brokerObservations()).filter((o) => o.kind === 'mqtt-connect' && o.detail.accepted === true && !rig.cloudIdentities.includes(String(o.detail.identity)));
}

Then('the cloud broker accepts the session as wearable-0001 and the cloud audits its reading', async function (this: TestbedWorld) {
  const rig = rigOf(this);
  const connects = await deviceSessions(rig);
  assert.equal(connects.length, 1, `the broker accepted ${connects.length} MQTT sessions: ${JSON.stringify(state(this).result)}`);
  assert.equal(connects[0]?.detail.identity, 'wearable-0001');
  const audit = await rig.audit();
  assert.equal(audit.length, 1, 'the cloud audited no reading');
  assert.equal(audit[0]?.verdict, 'accepted', `the reading was rejected: ${audit[0]?.detail}`);
});

Then('nothing reached the cloud service', async function (this: TestbedWorld) {
  const rig = rigOf(this);
  const sessions = await deviceSessions(rig);
  assert.equal(sessions.length, 0, `the broker accepted an MQTT session: ${sessions.map((o) => o.summary).join('; ')}`);
  assert.equal((await rig.audit()).length, 0, 'the cloud service audited a packet');
});

// Tagged: only these scenarios have the rig; an untagged hook is a step in every scenario's report (cli/step-hook-tags.test.ts).
After({ tags: '@mtls' }, async function (this: TestbedWorld) {
  await state(this).rig?.stop();
});
