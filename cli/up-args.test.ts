/** `testbed up`'s options: what starts, and one clear line for every bad input (nothing starts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUpArgs } from './up-args.ts';
import { rolesOf } from '../topology/graph.ts';
import { specOfGraph } from '../api/up-graph.ts';
import { brokerPolicyOffer, offerPhrase } from '../api/broker-policy-offer.ts';

test('defaults: the local placement, the reporting graph through a terminating gateway, one wearable and the reserved device', () => {
  const r = parseUpArgs([]);
  assert.equal(r.placement, 'local');
  assert.equal(r.graph.recipe, 'reporting');
  assert.deepEqual(rolesOf(r.graph, 'wearable')[0]?.devices, ['wearable-0001', 'wearable-0002']);
  assert.equal(rolesOf(r.graph, 'cloud-broker')[0]?.broker, 'aedes');
  assert.equal(specOfGraph(r.graph).path, 'terminating-gateway');
});

test('containers get Mosquitto; options become the graph and read back as the same spec', () => {
  const r = parseUpArgs(['--topology', 'containers', '--wearables', '3', '--malice', 'tamper:2', '--malice', 'sniff', '--mitm', 'gateway-cloud:expired:stolen-identity', '--readings', '0', '--port-base', '18000']);
  assert.equal(rolesOf(r.graph, 'cloud-broker')[0]?.broker, 'mosquitto');
  const spec = specOfGraph(r.graph);
  assert.equal(spec.wearables, 4);
  assert.deepEqual(spec.gatewayMalice.map((m) => m.name), ['tamper', 'sniff']);
  assert.deepEqual(spec.gatewayCloudMitm, { forgedCase: 'expired', stolenGatewayIdentity: true });
  assert.equal(r.portBase, 18000);
  assert.equal(r.readings, 0);
});

test('--mitm device-gateway puts the MITM on the device link, relaying with the reserved device\'s identity', () => {
  const r = parseUpArgs(['--wearables', '2', '--mitm', 'device-gateway:self-signed']);
  const spec = specOfGraph(r.graph);
  assert.deepEqual(spec.deviceGatewayMitm, { forgedCase: 'self-signed', stolenDeviceIdentity: 'wearable-0003' });
  assert.equal(spec.gatewayCloudMitm, undefined);
  assert.deepEqual(r.graph.links.filter((l) => l.from === 'wearables' || l.from === 'mitm-proxy').map((l) => `${l.from}→${l.to}`), ['wearables→mitm-proxy', 'mitm-proxy→gateway']);
});

test('impairments on the DTLS path are parsed by links/impairments.ts and land on the device link', () => {
  const r = parseUpArgs(['--path', 'dtls-stripping-gateway', '--impair', 'latency:ms=25', '--impair', 'loss:rate=0.1']);
  assert.deepEqual(specOfGraph(r.graph).deviceLinkImpairments?.clientToServer?.map((i) => i.kind), ['latency', 'loss']);
});

test('a latency on the TLS path lands on the device link, both ways', () => {
  const r = parseUpArgs(['--impair', 'latency:ms=25']);
  const impairments = specOfGraph(r.graph).deviceLinkImpairments;
  assert.deepEqual([impairments?.clientToServer, impairments?.serverToClient], [[{ kind: 'latency', ms: 25, jitterMs: 0 }], [{ kind: 'latency', ms: 25, jitterMs: 0 }]]);
});

test('--policy and --broker become the graph: the broker role carries the policy, the spec the standing realizations start too', () => {
  const r = parseUpArgs(['--topology', 'containers', '--broker', 'mosquitto', '--policy', 'legacy', '--recipe', 'up']);
  assert.equal(r.graph.recipe, 'up');
  assert.deepEqual([rolesOf(r.graph, 'cloud-broker')[0]?.broker, rolesOf(r.graph, 'cloud-broker')[0]?.policy], ['mosquitto', 'legacy']);
  assert.equal(specOfGraph(r.graph).brokerPolicy, 'legacy');
  // Named even when not asked for: the brokers' built-in settings are not the default policy (Aedes offered CBC suites).
  assert.equal(specOfGraph(parseUpArgs([]).graph).brokerPolicy, 'default');
});

test("the broker's printed offer follows what each broker can be told: Mosquitto's legacy starts at TLS 1.1", () => {
  assert.deepEqual(brokerPolicyOffer('legacy', 'aedes').versions, ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']);
  assert.deepEqual(brokerPolicyOffer('legacy', 'mosquitto').versions, ['TLSv1.1', 'TLSv1.2', 'TLSv1.3']);
  assert.deepEqual(brokerPolicyOffer('tls13-only', 'aedes').versions, ['TLSv1.3']);
  assert.match(offerPhrase(brokerPolicyOffer('default', 'mosquitto')), /^policy default: TLSv1\.2, TLSv1\.3; ECDHE with AEAD suites only$/);
  assert.match(offerPhrase(brokerPolicyOffer('legacy', 'aedes')), /CBC suites incl\. RSA key transport/);
});

const refusals: [string[], RegExp][] = [
  [['--recipe', 'nope'], /unknown recipe "nope"; testbed up supports --recipe reporting, up$/],
  [['--recipe', 'tls-policy'], /recipe "tls-policy" has no standing realization to keep running; testbed up supports --recipe reporting, up$/],
  [['--recipe', 'up', '--path', 'relay-gateway'], /recipe "up" is the reporting graph through the TLS-terminating gateway; drop --path relay-gateway or use --recipe reporting/],
  [['--wearables', '0'], /--wearables must be a whole number from 1 to 50, got "0"/],
  [['--wearables', 'many'], /--wearables must be a whole number/],
  [['--path', 'carrier-pigeon'], /unknown path "carrier-pigeon"; use --path terminating-gateway \| relay-gateway \| dtls-stripping-gateway/],
  [['--topology', 'cloud'], /unknown placement "cloud"; use --topology local or --topology containers/],
  [['--malice', 'steal'], /unknown gateway malice "steal"/],
  [['--malice', 'tamper'], /--malice tamper needs reading numbers from 1, e\.g\. --malice tamper:2/],
  [['--malice', 'sniff:3'], /--malice sniff takes no reading numbers/],
  [['--mitm', 'device:self-signed'], /--mitm takes gateway-cloud:CASE\[:stolen-identity\] or device-gateway:CASE/],
  [['--mitm', 'device-gateway:forged-by-me'], /unknown forged-certificate case "forged-by-me"; known: /],
  [['--mitm', 'device-gateway:self-signed:stolen-identity'], /--mitm device-gateway:CASE takes no third part/],
  [['--mitm', 'device-gateway:self-signed', '--path', 'relay-gateway'], /a MITM on the device link forges the TLS-terminating gateway's certificate; use --path terminating-gateway/],
  [['--mitm', 'device-gateway:self-signed', '--impair', 'latency:ms=25'], /--impair with --mitm device-gateway: .*drop one of them/],
  [['--mitm', 'gateway-cloud:forged-by-me'], /unknown forged-certificate case "forged-by-me"; known: /],
  [['--mitm', 'gateway-cloud:self-signed', '--path', 'relay-gateway'], /needs the terminating gateway; use --path terminating-gateway/],
  [['--impair', 'loss:rate=0.1'], /--impair loss: the TLS path's device link is a TCP relay, which can only add a fixed delay .*use --impair latency:ms=N, or --path dtls-stripping-gateway for loss/],
  [['--impair', 'latency:ms=25,jitterMs=5'], /--impair latency with jitterMs: .*drop jitterMs/],
  [['--path', 'dtls-stripping-gateway', '--impair', 'latency:delay=25'], /latency has no setting "delay"; its settings are ms, jitterMs/],
  [['--path', 'dtls-stripping-gateway', '--impair', 'latency:ms=soon'], /settings are key=number pairs/],
  [['--broker-policy', 'legacy'], /unknown option --broker-policy: its options are .*--broker, --policy/],
  [['--policy', 'tls12'], /unknown broker policy "tls12"; use --policy default \| tls13-only \| legacy/],
  [['--policy', 'legacy', '--path', 'dtls-stripping-gateway'], /--policy legacy: the DTLS path's cloud endpoint is not the TLS broker/],
  [['--broker', 'emqx'], /unknown broker "emqx"; use --broker aedes \| mosquitto/],
  [['--broker', 'mosquitto'], /^the local placement cannot realize recipe "reporting": Mosquitto runs only in the containers placement here .*; nothing was started$/],
  [['--topology', 'containers', '--broker', 'aedes'], /^the containers placement cannot realize recipe "reporting": the in-process Aedes broker does not run in containers.*; nothing was started$/],
  [['--readings', '1000'], /--readings must be a whole number from 0 to 100/],
  [['--port-base', '80'], /--port-base must be a whole number from 1024 to 65000/],
  [['--frobnicate'], /unknown option --frobnicate: its options are [\s\S]*usage: testbed up/],
];

for (const [args, message] of refusals) {
  test(`refused with one line: testbed up ${args.join(' ')}`, () => {
    assert.throws(() => parseUpArgs(args), (err: Error) => {
      assert.match(err.message, message);
      return true;
    });
  });
}
