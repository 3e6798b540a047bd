/** testssl.sh against a broker of one policy, from this machine (features/testssl-policy.feature). */
import { After, Given, Then, When, defineParameterType } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TestbedWorld } from './world.ts';
import { startBrokerPolicyRig, type BrokerPolicyRig } from '../topology/broker-policy-rig.ts';
import type { TlsServerPolicy } from '../emulators/tls-server-policy.ts';
import { publishContainerRoles, publishOnLoopback, type HostRelay } from '../api/published-endpoints.ts';
import { TESTSSL_PROTOCOLS, testsslProtocols, type TestsslProtocol, type TestsslReport } from '../analysis/testssl.ts';

interface Scan {
  rig: BrokerPolicyRig;
  policy: TlsServerPolicy;
  relay: HostRelay;
  report?: TestsslReport;
}

defineParameterType({
  // "TLS 1.2, TLS 1.3": protocol versions as an analyst writes them.
  name: 'protocol list',
  regexp: /TLS 1(?:\.[123])?(?:, TLS 1(?:\.[123])?)*/,
  transformer: (s: string) => s,
});

const scans = new WeakMap<TestbedWorld, Scan>();
const PROTOCOL_OF: Record<string, TestsslProtocol> = { 'TLS 1': 'TLS1', 'TLS 1.1': 'TLS1_1', 'TLS 1.2': 'TLS1_2', 'TLS 1.3': 'TLS1_3' };
/** Node's and OpenSSL's version names, in order, as testssl names them. */
const VERSION_ORDER: Record<string, TestsslProtocol> = { TLSv1: 'TLS1', 'TLSv1.1': 'TLS1_1', 'TLSv1.2': 'TLS1_2', 'TLSv1.3': 'TLS1_3' };

function scan(world: TestbedWorld): Scan {
  const s = scans.get(world);
  if (!s) throw new Error('no broker to scan; start with "Given a cloud broker serving the … policy, reachable from this machine"');
  return s;
}

Given('a cloud broker serving the {broker policy}, reachable from this machine', { timeout: 240_000 }, async function (this: TestbedWorld, policy: TlsServerPolicy) {
  const rig = await startBrokerPolicyRig({ dir: this.dir, wearableIds: ['wearable-0001'], offers: 'cipher-suite', policy });
  try {
    const runId = (rig as { runId?: string }).runId;
    // Containers: the broker is on an --internal network; a relay of ours on 127.0.0.1 reaches it.
    const relays = runId ? await publishContainerRoles(runId, { dtlsGateway: false }) : [];
    let relay = relays.find((r) => r.endpoint.role === 'cloud-broker');
    if (!runId) {
      const listening = (await rig.brokerObservations()).find((o) => o.kind === 'listening' && o.detail.plaintext !== true);
      if (!listening) throw new Error('the broker recorded no listening endpoint');
      relay = await publishOnLoopback({ alias: 'cloud-broker', role: 'cloud-broker', protocol: 'tcp', port: Number(listening.detail.port), serverName: 'cloud.testbed.local', what: 'the cloud broker' }, String(listening.detail.host));
    }
    if (!relay) throw new Error('the broker of the policy rig has no address to relay to');
    scans.set(this, { rig, policy, relay });
  } catch (err) {
    await rig.stop();
    throw err;
  }
});

When("testssl.sh scans the broker's protocols", { timeout: 240_000 }, async function (this: TestbedWorld) {
  const s = scan(this);
  const e = s.relay.endpoint;
  s.report = await testsslProtocols({ host: e.host, port: e.port, jsonFile: join(this.dir, 'testssl.json'), timeoutMs: 220_000 });
  this.attach(`${s.report.commandLine}\ntook ${(s.report.elapsedMs / 1000).toFixed(1)} s\n${s.report.findings.map((f) => `${f.id}: ${f.finding}`).join('\n')}`, { mediaType: 'text/plain', fileName: 'testssl.txt' });
});

Then('testssl.sh reports exactly {protocol list} offered', function (this: TestbedWorld, list: string) {
  const s = scan(this);
  const expected = list.split(',').map((p) => p.trim());
  const unknown = expected.filter((p) => !PROTOCOL_OF[p]);
  if (unknown.length) throw new Error(`unknown protocol ${unknown.join(', ')}; write TLS 1, TLS 1.1, TLS 1.2 or TLS 1.3`);
  const report = s.report as TestsslReport;
  const offered = TESTSSL_PROTOCOLS.filter((p) => report.protocols[p] === true);
  const want = expected.map((p) => PROTOCOL_OF[p] as TestsslProtocol);
  const unjudged = TESTSSL_PROTOCOLS.filter((p) => report.protocols[p] === undefined);
  assert.equal(unjudged.length, 0, `testssl gave no verdict on ${unjudged.join(', ')}`);
  assert.deepEqual(offered, want, `testssl found ${offered.join(', ') || 'nothing'} offered by the "${s.policy.name}" broker, expected ${want.join(', ')}`);
});

Then("every protocol testssl.sh reports offered lies within the policy's versions", function (this: TestbedWorld) {
  const s = scan(this);
  const order = Object.values(VERSION_ORDER);
  const min = order.indexOf(VERSION_ORDER[s.policy.minVersion] as TestsslProtocol);
  const max = order.indexOf(VERSION_ORDER[s.policy.maxVersion] as TestsslProtocol);
  const report = s.report as TestsslReport;
  const outside = TESTSSL_PROTOCOLS.filter((p) => report.protocols[p] === true && !(order.indexOf(p) >= min && order.indexOf(p) <= max));
  assert.deepEqual(outside, [], `the "${s.policy.name}" broker offers ${outside.join(', ')}, outside its policy's ${s.policy.minVersion}..${s.policy.maxVersion}`);
});

After({ tags: '@testssl' }, async function (this: TestbedWorld) {
  const s = scans.get(this);
  if (!s) return;
  scans.delete(this);
  await s.relay.stop().catch(() => undefined);
  await s.rig.stop();
});
