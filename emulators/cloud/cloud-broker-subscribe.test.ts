/**
 * Who may read what on the local broker (Aedes, cloud-broker.ts authorizeSubscribe): deny by
 * default. A wearable, a gateway and another client of the cloud's unit each try to read the
 * readings; each is refused, and a real reading published meanwhile reaches only the cloud service.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import mqtt, { type MqttClient } from 'mqtt';
import { generatePki, type Pki } from '../../certs/pki.ts';
import { issueCloudServiceIdentity } from '../../certs/cloud-service-identity.ts';
import { ACK_TOPIC_FILTER } from '../dtls/cloud-acks.ts';
import { COMMAND_TOPIC_FILTER, RESPONSE_TOPIC_FILTER, commandTopic } from '../commands/command-topics.ts';
import { e3Topic } from '../wearable.ts';
import { CloudBroker, E3_TOPIC_FILTER } from './cloud-broker.ts';
import { loopbackBrokerConfig } from './loopback-broker-config.ts';

const PSEUDONYM = { 'wearable-0001': 'a1'.repeat(16), 'wearable-0002': 'b2'.repeat(16) } as const;
type Device = keyof typeof PSEUDONYM;
interface Credential {
  readonly chainPem: string;
  readonly keyPem: string;
}

let pki: Pki;
let cloudService: Credential;
let cloudDtls: Credential;
let broker: CloudBroker;
let endpoint: { host: string; port: number };
let clientCount = 0;

before(async () => {
  pki = await generatePki({ wearableIds: Object.keys(PSEUDONYM) });
  [cloudService, cloudDtls] = await Promise.all([issueCloudServiceIdentity(pki.intermediateCa), issueCloudServiceIdentity(pki.intermediateCa, new Date(), 'cloud-dtls')]);
  broker = new CloudBroker(
    loopbackBrokerConfig(pki.cloud, {
      clientCaPem: pki.rootCa.certPem,
      ownTopicOf: (id) => (id in PSEUDONYM ? e3Topic(PSEUDONYM[id as Device]) : undefined),
      grants: { deviceCommands: true, dtlsAcks: true },
    }),
  );
  endpoint = await broker.start();
});

after(async () => {
  await broker.stop();
});

function wearable(id: Device): Credential {
  const cert = pki.wearables.get(id);
  if (!cert) throw new Error(`the test PKI has no ${id}`);
  return cert;
}

/** An MQTT client over mutual TLS that does not reconnect, and every message it receives. */
async function client(who: Credential, at = endpoint): Promise<{ mqtt: MqttClient; received: string[] }> {
  const stream = () => tlsConnect({ ...at, servername: 'cloud.testbed.local', ca: pki.rootCa.certPem, cert: who.chainPem, key: who.keyPem });
  const c = new mqtt.MqttClient(stream, { protocolVersion: 4, clientId: `probe-${++clientCount}`, reconnectPeriod: 0, connectTimeout: 10_000 });
  c.on('error', () => undefined); // a refusal closes the connection; the test reads the outcome below
  const received: string[] = [];
  c.on('message', (topic, payload) => received.push(`${topic} ${payload.toString()}`));
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('close', () => reject(new Error('the broker closed the connection before CONNACK')));
  });
  return { mqtt: c, received };
}

/** SUBSCRIBE at QoS 1: 'granted', 'refused' (SUBACK 0x80) or 'closed' (Aedes closes the connection). */
function subscribe(c: MqttClient, filter: string): Promise<'granted' | 'refused' | 'closed'> {
  return new Promise((resolve) => {
    c.once('close', () => resolve('closed'));
    c.subscribe(filter, { qos: 1 }, (err, granted) => {
      if (!err) resolve(granted?.[0]?.qos === 128 ? 'refused' : 'granted');
    });
  });
}

/** wearable-0002 publishes a real reading on its own topic; the cloud service's copy proves the broker routed it. */
async function publishReading(cloud: { received: string[] }, n: number): Promise<string> {
  const sender = await client(wearable('wearable-0002'));
  const expected = `${e3Topic(PSEUDONYM['wearable-0002'])} reading-${n}`;
  try {
    await sender.mqtt.publishAsync(e3Topic(PSEUDONYM['wearable-0002']), `reading-${n}`, { qos: 1 });
    const until = performance.now() + 5_000;
    while (!cloud.received.includes(expected) && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.ok(cloud.received.includes(expected), `the cloud service did not receive ${expected}: the reading was never routed, so nobody's silence proves anything`);
  } finally {
    await sender.mqtt.endAsync();
  }
  return expected;
}

test("a wearable, a gateway and the cloud's DTLS endpoint cannot read any wearable's readings; only the cloud service can", async () => {
  const cloud = await client(cloudService);
  assert.equal(await subscribe(cloud.mqtt, E3_TOPIC_FILTER), 'granted');
  const attempts: [string, Credential, string][] = [];
  for (const filter of ['#', '+/+/e3', 'wearables/#', e3Topic(PSEUDONYM['wearable-0002'])]) {
    attempts.push(['wearable-0001', wearable('wearable-0001'), filter], ['gateway', pki.gateway, filter]);
  }
  attempts.push(['cloud-dtls', cloudDtls, E3_TOPIC_FILTER], ['cloud-dtls', cloudDtls, '#']);
  const readers: { who: string; filter: string; received: string[] }[] = [];
  try {
    for (const [who, credential, filter] of attempts) {
      const reader = await client(credential);
      readers.push({ who, filter, received: reader.received });
      const outcome = await subscribe(reader.mqtt, filter);
      assert.notEqual(outcome, 'granted', `${who} was granted a subscription to ${filter}`);
      reader.mqtt.end(true);
    }
    await publishReading(cloud, 1);
    for (const r of readers) assert.deepEqual(r.received, [], `${r.who} subscribed to ${r.filter} received a reading`);
    const refusals = broker.log.all().filter((o) => o.kind === 'subscribe-refused');
    assert.deepEqual(
      refusals.map((o) => `${String(o.detail.identity)} ${String(o.detail.topic)}`),
      attempts.map(([, credential, filter]) => `${credential === pki.gateway ? pki.gateway.subjectCn : credential === cloudDtls ? 'cloud-dtls' : 'wearable-0001'} ${filter}`),
      'the broker keeps one subscribe-refused record per refused SUBSCRIBE',
    );
  } finally {
    await cloud.mqtt.endAsync();
  }
});

test('what the roles need is granted: a wearable its own command topic, a gateway the command and acknowledgement filters', async () => {
  const grants: [Credential, string][] = [
    [wearable('wearable-0001'), commandTopic(PSEUDONYM['wearable-0001'])],
    [pki.gateway, COMMAND_TOPIC_FILTER],
    [pki.gateway, ACK_TOPIC_FILTER],
  ];
  for (const [credential, filter] of grants) {
    const c = await client(credential);
    try {
      assert.equal(await subscribe(c.mqtt, filter), 'granted', `${filter} was refused`);
    } finally {
      await c.mqtt.endAsync();
    }
  }
  const own = await client(wearable('wearable-0001'));
  try {
    assert.notEqual(await subscribe(own.mqtt, commandTopic(PSEUDONYM['wearable-0002'])), 'granted', "a wearable was granted another wearable's command topic");
  } finally {
    own.mqtt.end(true);
  }
});

test('a run without commands or DTLS acknowledgements grants none of their topics (as Mosquitto\'s ACL leaves them out)', async () => {
  const bare = new CloudBroker(loopbackBrokerConfig(pki.cloud, { clientCaPem: pki.rootCa.certPem, ownTopicOf: (id) => (id in PSEUDONYM ? e3Topic(PSEUDONYM[id as Device]) : undefined) }));
  const at = await bare.start();
  try {
    const asks: [Credential, string][] = [
      [wearable('wearable-0001'), commandTopic(PSEUDONYM['wearable-0001'])],
      [pki.gateway, COMMAND_TOPIC_FILTER],
      [pki.gateway, ACK_TOPIC_FILTER],
      [cloudService, RESPONSE_TOPIC_FILTER],
    ];
    for (const [credential, filter] of asks) {
      const c = await client(credential, at);
      try {
        assert.notEqual(await subscribe(c.mqtt, filter), 'granted', `${filter} was granted without the feature`);
      } finally {
        c.mqtt.end(true);
      }
    }
    const readings = await client(cloudService, at);
    try {
      assert.equal(await subscribe(readings.mqtt, E3_TOPIC_FILTER), 'granted', 'the cloud service must still read the readings');
    } finally {
      await readings.mqtt.endAsync();
    }
  } finally {
    await bare.stop();
  }
});

test('a resend (DUP 1) is recorded with its flag, so the broker backlog can leave it out of the first copies', async () => {
  const sender = await client(wearable('wearable-0001'));
  try {
    const topic = e3Topic(PSEUDONYM['wearable-0001']);
    await sender.mqtt.publishAsync(topic, 'first', { qos: 1 });
    await sender.mqtt.publishAsync(topic, 'again', { qos: 1, dup: true });
    const publishes = broker.log.all().filter((o) => o.kind === 'publish' && o.detail.topic === topic);
    assert.deepEqual(publishes.map((o) => o.detail.dup), [false, true], "the broker's publish records do not carry the DUP flag");
  } finally {
    await sender.mqtt.endAsync();
  }
});
