/**
 * TLS version and cipher-suite policy, both sides: probes that offer exactly one version or one
 * suite, judged from the broker's own handshake records and what the probe got; the wearable's
 * ClientHello read back from the capture of its link; sslscan as an independent scanner. The
 * steps hold only BrokerPolicyRig handles: Aedes on node:tls locally, Mosquitto in containers.
 */
import { After, Given, Then, When, defineParameterType } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CIPHER_SUITE_NAMES, TLS_VERSION_NAMES, cipherSuiteName, type ClientHello } from '../analysis/tls-client-hello.ts';
import type { SslscanReport } from '../analysis/sslscan.ts';
import type { TlsClientProfile } from '../emulators/tls-client-profile.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { PROBE_VERSIONS, probeVersion, suiteOffer, versionOffer, type ProbeVersion, type TlsProbeOffer, type TlsProbeResult } from '../emulators/tls-probe.ts';
import { chapterCipherSuite, isCbcSuite, isRsaKeyTransportSuite, serverPolicy, type ChapterCipherSuite, type TlsServerPolicy, type TlsServerPolicyName } from '../emulators/tls-server-policy.ts';
import { describeProbe, startBrokerPolicyRig, type BrokerPolicyRig } from '../topology/broker-policy-rig.ts';
import { scenarioState } from './scenario-state.ts';
import type { TestbedWorld } from './world.ts';

const DEVICE_ID = 'wearable-0001';
const ALL_POLICIES: readonly TlsServerPolicyName[] = ['default', 'tls13-only', 'legacy'];

defineParameterType({
  name: 'broker policy',
  regexp: /"([a-z0-9-]+)" (?:policy|broker)/,
  transformer: (name: string): TlsServerPolicy => serverPolicy(name),
});

defineParameterType({
  name: 'cipher suite',
  regexp: /TLS_[A-Z0-9_]+/,
  transformer: (name: string): ChapterCipherSuite => chapterCipherSuite(name),
});

defineParameterType({
  name: 'protocol version',
  regexp: /TLS 1\.[0-3]/,
  transformer: (text: string): ProbeVersion => probeVersion(text),
});

/** "TLS_A, TLS_B, TLS_C": IANA names the ClientHello parser knows (a typo fails with the list). */
defineParameterType({
  name: 'iana suite list',
  regexp: /TLS_[A-Z0-9_]+(?:, TLS_[A-Z0-9_]+)*/,
  transformer: (text: string): string[] => {
    const known = Object.values(CIPHER_SUITE_NAMES);
    return text.split(', ').map((name) => {
      if (!known.includes(name)) throw new Error(`tls-policy: unknown cipher suite "${name}"; known: ${known.join(', ')}`);
      return name;
    });
  },
});

type Verdict = { readonly accepted: true } | { readonly accepted: false; readonly reason: string };

defineParameterType({
  name: 'handshake verdict',
  regexp: /accepted it|refused it because "[^"]*"/,
  transformer: (text: string): Verdict => (text === 'accepted it' ? { accepted: true } : { accepted: false, reason: text.replace(/^refused it because "|"$/g, '') }),
});

/** "TLS 1.2 and TLS 1.3", "TLS 1.0, TLS 1.1, TLS 1.2 and TLS 1.3" */
defineParameterType({
  name: 'protocol version list',
  regexp: /TLS 1\.[0-3](?:(?:, | and )TLS 1\.[0-3])*/,
  transformer: (text: string): ProbeVersion[] => text.split(/, | and /).map((v) => probeVersion(v)),
});

type ProbeSpec = { readonly kind: 'suite'; readonly suite: ChapterCipherSuite } | { readonly kind: 'version'; readonly version: ProbeVersion };

interface PolicyState {
  readonly rigs: Map<TlsServerPolicyName, BrokerPolicyRig>;
  readonly probes: Map<TlsServerPolicyName, TlsProbeResult>;
  probe?: ProbeSpec;
  wearable?: { readonly profile: TlsClientProfile; readonly connectError?: string; readonly hello: ClientHello; readonly mqttConnected: boolean };
  sslscan?: SslscanReport;
}
const state = scenarioState<PolicyState>(() => ({ rigs: new Map(), probes: new Map() }));

function rigOf(w: TestbedWorld, policy?: TlsServerPolicyName): BrokerPolicyRig {
  const rigs = state(w).rigs;
  const rig = policy ? rigs.get(policy) : rigs.size === 1 ? [...rigs.values()][0] : undefined;
  if (!rig) throw new Error(`tls-policy: no ${policy ? `"${policy}" ` : ''}broker in this scenario; start one with 'Given a cloud broker with the "default" policy' (brokers here: ${[...rigs.keys()].join(', ') || 'none'})`);
  return rig;
}

async function startBroker(w: TestbedWorld, policy: TlsServerPolicy): Promise<void> {
  // Each broker serves the cloud's ECDSA certificate, and on Aedes an RSA one too (the feature says why Mosquitto cannot).
  const rig = await startBrokerPolicyRig({ dir: join(w.dir, `broker-${policy.name}`), wearableIds: [DEVICE_ID], offers: 'cipher-suite', policy });
  state(w).rigs.set(policy.name, rig);
}

function brokerRecord(observations: readonly Observation[]): string {
  return observations.map((o) => `  ${o.kind}: ${o.summary.trim()}`).join('\n');
}

async function probeEachBroker(w: TestbedWorld, spec: ProbeSpec, offer: TlsProbeOffer): Promise<void> {
  const s = state(w);
  s.probe = spec;
  const report: string[] = [];
  for (const [name, rig] of s.rigs) {
    // The rig waits (bounded) for the broker's record of the handshake before it returns.
    const probed = await rig.probeOffer(offer, DEVICE_ID);
    s.probes.set(name, probed.result);
    report.push(`${name} ${rig.brokerKind} broker — probe: ${JSON.stringify(probed.result)}\nwire: ${describeProbe(probed)}\n${brokerRecord(await rig.brokerObservations())}`);
  }
  w.attach(`offer: ${offer.describe}\n\n${report.join('\n\n')}`, { mediaType: 'text/plain' });
}

Given('cloud brokers with the "default", "tls13-only" and "legacy" policies', async function (this: TestbedWorld) {
  const started = await Promise.allSettled(ALL_POLICIES.map((name) => startBroker(this, serverPolicy(name))));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
});

Given('a cloud broker with the {broker policy}', async function (this: TestbedWorld, policy: TlsServerPolicy) {
  await startBroker(this, policy);
  this.attach(`broker policy ${policy.name}: ${policy.explain}`, { mediaType: 'text/plain' });
});

When('a probe offers only the cipher suite {cipher suite} to each broker', async function (this: TestbedWorld, suite: ChapterCipherSuite) {
  await probeEachBroker(this, { kind: 'suite', suite }, suiteOffer(suite));
});

When('a probe offers only {protocol version} to each broker', async function (this: TestbedWorld, version: ProbeVersion) {
  await probeEachBroker(this, { kind: 'version', version }, versionOffer(version));
});

Then('the {broker policy} {handshake verdict}', async function (this: TestbedWorld, policy: TlsServerPolicy, verdict: Verdict) {
  const s = state(this);
  const rig = rigOf(this, policy.name);
  const probe = s.probes.get(policy.name);
  const spec = s.probe;
  if (!probe || !spec) throw new Error('tls-policy: no probe was sent; add "When a probe offers only …"');
  const observations = await rig.brokerObservations();
  const handshakes = observations.filter((o) => o.kind === 'tls-handshake');
  const errors = observations.filter((o) => o.kind === 'tls-error');
  const seen = `probe: ${JSON.stringify(probe)}\n${rig.brokerKind} broker:\n${brokerRecord(observations)}`;
  if (verdict.accepted) {
    assert.equal(handshakes.length, 1, `the ${policy.name} broker recorded ${handshakes.length} completed handshakes, expected 1\n${seen}`);
    const h = handshakes[0]?.detail ?? {};
    assert.equal(h.peer, DEVICE_ID, `the broker admitted ${String(h.peer)}, not the probe's ${DEVICE_ID}`);
    assert.equal(probe.completed, true, `the probe did not complete the handshake\n${seen}`);
    assert.equal(probe.cipher, h.cipher, 'the probe and the broker disagree on the suite');
    assert.equal(probe.protocol, h.protocol, 'the probe and the broker disagree on the version');
    if (spec.kind === 'suite') assert.equal(h.cipher, spec.suite.ianaName, `the broker negotiated ${String(h.cipher)}, not the offered ${spec.suite.ianaName}`);
    else assert.equal(h.protocol, PROBE_VERSIONS[spec.version], `the broker negotiated ${String(h.protocol)}, not the offered ${spec.version}`);
  } else {
    assert.equal(handshakes.length, 0, `the ${policy.name} broker completed a handshake it should refuse: ${handshakes.map((o) => o.summary).join('; ')}\n${seen}`);
    assert.ok(errors.length > 0, `the ${policy.name} broker recorded no refused handshake\n${seen}`);
    assert.ok(errors.some((e) => String(e.detail.message).includes(verdict.reason)), `the ${policy.name} broker refused for another reason than "${verdict.reason}"\n${seen}`);
    assert.equal(probe.completed, false, `the probe believes it completed a handshake\n${seen}`);
    assert.match(probe.error ?? '', /alert|closed|reset|hang up/i, `the probe saw no alert or close from the broker\n${seen}`);
  }
});

When('{device} with the {profile} connects to the broker through a captured link', async function (this: TestbedWorld, deviceId: string, profile: TlsClientProfile) {
  const rig = rigOf(this);
  const attempt = await rig.connectWearable(deviceId, profile);
  state(this).wearable = { profile, hello: attempt.hello, mqttConnected: attempt.mqttConnected, ...(attempt.connectError ? { connectError: attempt.connectError } : {}) };
  const h = attempt.hello;
  this.attach(
    [
      `${deviceId} (${profile.name}: ${profile.explain})`,
      `ClientHello versions: ${h.versions.map((v) => TLS_VERSION_NAMES[v] ?? v).join(', ')}`,
      `ClientHello suites: ${h.cipherSuites.map(cipherSuiteName).join(', ')}`,
      `wearable: ${attempt.connectError ?? 'MQTT session established'}`,
      `broker:\n${brokerRecord(await rig.brokerObservations())}`,
      `capture: ${attempt.capture}`,
    ].join('\n'),
    { mediaType: 'text/plain' },
  );
});

function helloOf(w: TestbedWorld): ClientHello {
  const hello = state(w).wearable?.hello;
  if (!hello) throw new Error('tls-policy: no captured ClientHello; add "When wearable-0001 with the "secure" profile connects to the broker through a captured link"');
  return hello;
}

/** GREASE values (RFC 8701) are not offers; OpenSSL sends none, but another stack may. */
const isGrease = (v: number): boolean => (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);

Then('the captured ClientHello offers only {protocol version}', function (this: TestbedWorld, version: ProbeVersion) {
  const offered = helloOf(this).versions.filter((v) => !isGrease(v)).map((v) => TLS_VERSION_NAMES[v] ?? `0x${v.toString(16)}`);
  assert.deepEqual(offered, [version], `the ClientHello offers ${offered.join(', ')}`);
});

/**
 * Signalling values in the cipher-suite list, not suites: TLS_EMPTY_RENEGOTIATION_INFO_SCSV
 * (RFC 5746 §3.3, OpenSSL sends it in every ClientHello) and TLS_FALLBACK_SCSV (RFC 7507).
 */
const SIGNALLING_VALUES = new Set([0x00ff, 0x5600]);

Then('the captured ClientHello offers only the cipher suites {iana suite list}', function (this: TestbedWorld, suites: string[]) {
  const offered = helloOf(this).cipherSuites.filter((v) => !isGrease(v) && !SIGNALLING_VALUES.has(v)).map(cipherSuiteName);
  assert.deepEqual([...offered].sort(), [...suites].sort(), `the ClientHello offers ${offered.join(', ')}`);
});

Then('the captured ClientHello offers no CBC suite and no RSA key-exchange suite', function (this: TestbedWorld) {
  const offered = helloOf(this).cipherSuites.filter((v) => !isGrease(v));
  assert.ok(offered.length > 0, 'the ClientHello offers no cipher suite at all');
  const unknown = offered.filter((id) => !(id in CIPHER_SUITE_NAMES));
  assert.deepEqual(unknown.map(cipherSuiteName), [], 'suites the analyser cannot name (add them to CIPHER_SUITE_NAMES to classify them)');
  const weak = offered.map(cipherSuiteName).filter((n) => isCbcSuite(n) || isRsaKeyTransportSuite(n));
  assert.deepEqual(weak, [], `the ClientHello offers ${weak.join(', ')}`);
});

Then('the broker recorded a {word} handshake with {device}', async function (this: TestbedWorld, protocol: string, deviceId: string) {
  const observations = await rigOf(this).brokerObservations();
  assert.ok(
    observations.some((o) => o.kind === 'tls-handshake' && o.detail.protocol === protocol && o.detail.peer === deviceId),
    `the broker recorded no ${protocol} handshake with ${deviceId}:\n${brokerRecord(observations)}\nwearable: ${state(this).wearable?.connectError ?? 'connected'}`,
  );
  assert.equal(state(this).wearable?.mqttConnected, true, `the wearable got no MQTT session: ${state(this).wearable?.connectError}`);
});

Then('the broker recorded a {word} handshake with {device} using {iana suite list}', async function (this: TestbedWorld, protocol: string, deviceId: string, suites: string[]) {
  const observations = await rigOf(this).brokerObservations();
  const ok = observations.some((o) => o.kind === 'tls-handshake' && o.detail.protocol === protocol && o.detail.peer === deviceId && suites.includes(String(o.detail.cipher)));
  assert.ok(ok, `the broker recorded no ${protocol} ${suites.join('/')} handshake with ${deviceId}:\n${brokerRecord(observations)}`);
  assert.equal(state(this).wearable?.mqttConnected, true, `the wearable got no MQTT session: ${state(this).wearable?.connectError}`);
});

Then("the broker refused the wearable's handshake because {string}", async function (this: TestbedWorld, reason: string) {
  const observations = await rigOf(this).brokerObservations();
  assert.equal(observations.filter((o) => o.kind === 'tls-handshake').length, 0, `the broker completed a handshake:\n${brokerRecord(observations)}`);
  const errors = observations.filter((o) => o.kind === 'tls-error');
  assert.ok(errors.some((e) => String(e.detail.message).includes(reason)), `the broker did not refuse because "${reason}":\n${brokerRecord(observations)}`);
});

Then('the wearable got no MQTT session', async function (this: TestbedWorld) {
  const rig = rigOf(this);
  const w = state(this).wearable;
  assert.ok(w, 'no wearable connected in this scenario');
  assert.equal(w.mqttConnected, false, 'the wearable got a CONNACK');
  assert.ok(w.connectError, 'the wearable reported no failure');
  const connects = (await rig.brokerObservations()).filter((o) => o.kind === 'mqtt-connect' && !rig.cloudIdentities.includes(String(o.detail.identity)));
  assert.equal(connects.length, 0, 'the broker saw an MQTT CONNECT');
});

When("sslscan scans the broker presenting {device}'s certificate", async function (this: TestbedWorld, deviceId: string) {
  const rig = rigOf(this);
  // From the probe's side of the graph: this process on loopback, the probe's container in containers.
  const { report, commandLine } = await rig.sslscan(deviceId);
  state(this).sslscan = report;
  this.attach(
    `${commandLine}\n\nprotocols: ${report.protocols.map((p) => `${p.version} ${p.enabled ? 'enabled' : 'disabled'}`).join(', ')}\naccepted:\n${report.ciphers.map((c) => `  ${c.protocol} ${c.ianaName} (${c.opensslName})${c.preferred ? ' preferred' : ''}`).join('\n')}`,
    { mediaType: 'text/plain' },
  );
});

function sslscanOf(w: TestbedWorld): SslscanReport {
  const r = state(w).sslscan;
  if (!r) throw new Error('tls-policy: sslscan has not run; add "When sslscan scans the broker presenting wearable-0001\'s certificate"');
  return r;
}

Then('sslscan finds exactly {protocol version list} enabled', function (this: TestbedWorld, versions: ProbeVersion[]) {
  const enabled = sslscanOf(this).protocols.filter((p) => p.enabled).map((p) => p.version);
  assert.deepEqual(enabled.sort(), [...versions].sort(), `sslscan finds enabled: ${enabled.join(', ') || 'none'}`);
});

Then('sslscan finds no CBC suite and no RSA key-exchange suite among the accepted suites', function (this: TestbedWorld) {
  const ciphers = sslscanOf(this).ciphers;
  assert.ok(ciphers.length > 0, 'sslscan found no accepted suite at all');
  const unknown = ciphers.filter((c) => c.ianaName.startsWith('0x'));
  assert.deepEqual(unknown.map((c) => `${c.opensslName} ${c.ianaName}`), [], 'suites the analyser cannot name (add them to CIPHER_SUITE_NAMES)');
  const weak = ciphers.filter((c) => isCbcSuite(c.ianaName) || isRsaKeyTransportSuite(c.ianaName)).map((c) => `${c.protocol} ${c.ianaName}`);
  assert.deepEqual(weak, [], `sslscan finds ${weak.join(', ')} accepted`);
});

Then('sslscan finds {iana suite list} among the accepted suites', function (this: TestbedWorld, suites: string[]) {
  const accepted = new Set(sslscanOf(this).ciphers.map((c) => c.ianaName));
  const missing = suites.filter((s) => !accepted.has(s));
  assert.deepEqual(missing, [], `sslscan does not find ${missing.join(', ')} accepted; it finds ${[...accepted].join(', ')}`);
});

const SSLSCAN_VERSIONS: Readonly<Record<string, ProbeVersion>> = { 'TLSv1.0': 'TLS 1.0', 'TLSv1.1': 'TLS 1.1', 'TLSv1.2': 'TLS 1.2', 'TLSv1.3': 'TLS 1.3' };

Then('sslscan finds every accepted suite also accepted by a probe of ours', async function (this: TestbedWorld) {
  const rig = rigOf(this);
  const disagreements: string[] = [];
  // Bounded: one probe per suite sslscan reports (a handful per version).
  for (const c of sslscanOf(this).ciphers) {
    const version = SSLSCAN_VERSIONS[c.protocol];
    if (!version) throw new Error(`tls-policy: sslscan reported an unknown protocol "${c.protocol}"`);
    const v = PROBE_VERSIONS[version];
    const tls13 = v === 'TLSv1.3';
    const { result: r } = await rig.probeOffer({ describe: `only ${c.ianaName} (${version})`, minVersion: v, maxVersion: v, ciphers: tls13 ? c.opensslName : `${c.opensslName}:@SECLEVEL=0` }, DEVICE_ID);
    if (!r.completed || r.cipher !== c.ianaName) disagreements.push(`${version} ${c.ianaName}: ${JSON.stringify(r)}`);
  }
  assert.deepEqual(disagreements, [], 'sslscan and our probe disagree');
});

// Tagged: only these scenarios have the rig; an untagged hook is a step in every scenario's report (cli/step-hook-tags.test.ts).
After({ tags: '@tls-policy' }, async function (this: TestbedWorld) {
  await Promise.allSettled([...state(this).rigs.values()].map((rig) => rig.stop()));
});
