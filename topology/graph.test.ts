import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkGraph, describeGraph, graphProblems, type Graph } from './graph.ts';
import { brokerPolicy, energyModel, graphForTags, independentDtlsPeer, interception, RECIPE_NAMES, reporting, resumption } from './recipes.ts';
import { containersPlacement, localPlacement, placementNamed, requireRealizable } from './placements.ts';

const everyRecipe = (): Graph[] => [
  reporting({ broker: 'aedes', wearables: 3, path: 'terminating-gateway', profile: 'secure' }),
  reporting({ broker: 'mosquitto', wearables: 1, path: 'dtls-psk-attacker', profile: 'secure' }),
  reporting({ broker: 'aedes', wearables: 1, path: 'terminating-gateway', profile: 'secure', gatewayCloudMitm: { forgedCase: 'self-signed', stolenGatewayIdentity: true } }),
  interception({ forgedCase: 'expired', client: 'mosquitto_pub', transport: 'tls' }),
  interception({ forgedCase: 'expired', client: 'secure', transport: 'dtls' }),
  brokerPolicy({ broker: 'aedes', offers: 'cipher-suite', scanner: true }),
  resumption({ broker: 'aedes', transport: 'tls', rttMs: 50, viaGateway: true }),
  resumption({ broker: 'aedes', transport: 'dtls', rttMs: 50 }),
  independentDtlsPeer(),
  energyModel(),
];

test('every recipe builds a sound graph that survives JSON', () => {
  for (const g of everyRecipe()) {
    assert.deepEqual(graphProblems(g), [], describeGraph(g));
    assert.deepEqual(JSON.parse(JSON.stringify(g)), g);
  }
});

test('a link to a missing role, an unknown broker kind and a duplicate name are each named with the fix', () => {
  const g = reporting({ broker: 'aedes', wearables: 1, path: 'relay-gateway', profile: 'secure' });
  const broken = {
    ...g,
    roles: [...g.roles.filter((r) => r.kind !== 'cloud-service').map((r) => (r.kind === 'cloud-broker' ? { ...r, broker: 'hivemq' } : r)), { kind: 'gateway', name: 'gateway', mode: 'relay', malice: [], upstreamProfile: 'secure' }],
    links: [...g.links, { name: 'x', from: 'gateway', to: 'cloud-service', protocol: 'tcp', capture: false }],
  } as unknown as Graph;
  const problems = graphProblems(broken).join('\n');
  assert.match(problems, /unknown broker kind "hivemq"; use one of aedes, mosquitto/);
  assert.match(problems, /the name "gateway" is used twice/);
  assert.match(problems, /"to" names the role "cloud-service", which the graph does not have/);
  assert.throws(() => checkGraph(broken), /cannot be realized: .*hivemq/);
});

test('graphs that are not objects are refused, not crashed on', () => {
  for (const bad of [null, 42, 'graph', [], { recipe: 'x' }]) assert.ok(graphProblems(bad).length > 0, JSON.stringify(bad));
});

test('the local placement realizes every recipe with Aedes, and refuses Mosquitto with the placement that has it', () => {
  for (const g of everyRecipe().filter((x) => !x.roles.some((r) => r.kind === 'cloud-broker' && r.broker === 'mosquitto'))) assert.equal(localPlacement.cannotRealize(g), undefined, describeGraph(g));
  const mosquitto = brokerPolicy({ broker: 'mosquitto', offers: 'device-credential' });
  assert.match(localPlacement.cannotRealize(mosquitto) ?? '', /Mosquitto .*--topology containers/);
});

test('the containers placement refuses Aedes, saying Mosquitto is its broker', () => {
  const g = reporting({ broker: 'aedes', wearables: 1, path: 'relay-gateway', profile: 'secure' });
  assert.match(containersPlacement.cannotRealize(g) ?? '', /Aedes .*Mosquitto is the containers broker/);
  assert.equal(containersPlacement.cannotRealize(reporting({ broker: 'mosquitto', wearables: 2, path: 'terminating-gateway', profile: 'secure' })), undefined);
  assert.throws(() => requireRealizable(g, containersPlacement), /nothing was started/);
});

test('the energy model needs no role, so every placement realizes it', () => {
  for (const p of [localPlacement, containersPlacement]) assert.equal(p.cannotRealize(energyModel()), undefined);
});

test('a scenario\'s tags name its recipe; an unknown recipe tag lists the known ones', () => {
  assert.equal(graphForTags(['@e3'], 'aedes'), undefined);
  assert.equal(graphForTags(['@recipe-resumption', '@dtls'], 'aedes')?.recipe, 'dtls-resumption');
  assert.equal(graphForTags(['@recipe-reporting', '@plaintext'], 'aedes')?.roles.find((r) => r.kind === 'wearable')?.transport, 'mqtt-plain');
  assert.throws(() => graphForTags(['@recipe-teleport'], 'aedes'), new RegExp(`known recipes: .*@recipe-${RECIPE_NAMES[0]}`));
  assert.throws(() => placementNamed('kubernetes'), /--topology local or --topology containers/);
});

test('a broker tag on examples asks for that broker, so the placement without it skips them', () => {
  assert.equal(graphForTags(['@recipe-tls-policy', '@broker-mosquitto'], 'aedes')?.roles.find((r) => r.kind === 'cloud-broker')?.broker === 'mosquitto', true);
  assert.match(localPlacement.cannotRealize(graphForTags(['@recipe-tls-policy', '@broker-mosquitto'], 'aedes') as Graph) ?? '', /Mosquitto runs only in the containers placement/);
  assert.match(containersPlacement.cannotRealize(graphForTags(['@recipe-tls-policy', '@broker-aedes'], 'mosquitto') as Graph) ?? '', /Aedes broker does not run in containers/);
  assert.equal(containersPlacement.cannotRealize(graphForTags(['@recipe-tls-policy', '@broker-mosquitto'], 'mosquitto') as Graph), undefined);
  assert.equal(containersPlacement.cannotRealize(graphForTags(['@recipe-mutual-tls'], 'mosquitto') as Graph), undefined);
});
