/**
 * Clients of your own against a running graph (features/external-peers.feature): the graph is
 * started by api/up.ts `up()` — what `testbed up` runs — and the clients are the command lines
 * `up` prints (api/client-lines.ts), run as a user would paste them.
 */
import { After, Given, Then, When } from '@cucumber/cucumber';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import type { TestbedWorld } from './world.ts';
import { up, type RunningGraph } from '../api/up.ts';
import { upGraph, type UpMitm } from '../api/up-graph.ts';
import { latency, type Impairment } from '../links/impairments.ts';
import { chapterSClientArgs, mosquittoArgs } from '../api/client-lines.ts';
import { parseReading, sealReading, type Sealed } from '../api/seal.ts';
import { runBounded, sClientVerifyError, type ExternalRun } from '../emulators/external-clients.ts';
import { readProvisioning } from '../emulators/provisioning.ts';
import { e3Topic } from '../emulators/wearable.ts';
import { currentPlacement } from '../topology/placements.ts';

interface PeerState {
  graph: RunningGraph;
  sealed?: Sealed;
  run?: ExternalRun;
  subscriber?: { run: Promise<ExternalRun>; clientId: string; topic: string };
}

const peers = new WeakMap<TestbedWorld, PeerState>();

function state(world: TestbedWorld): PeerState {
  const s = peers.get(world);
  if (!s) throw new Error('no testbed is up in this scenario; start with "Given the testbed is up with …"');
  return s;
}

/** The graph this scenario's "Given the testbed is up …" started (for steps in other files). */
export function runningUp(world: TestbedWorld): RunningGraph {
  return state(world).graph;
}

async function startUp(world: TestbedWorld, mitm: UpMitm, impairments?: readonly Impairment[]): Promise<void> {
  const placement = currentPlacement();
  const graph = upGraph({ broker: placement.defaultBroker, wearables: 1, path: 'terminating-gateway', ...mitm, ...(impairments ? { impairments } : {}) });
  const running = await up(graph, { placement: placement.name, dir: world.dir });
  peers.set(world, { graph: running });
  world.attach(running.endpoints.map((e) => `${e.role}: ${e.protocol} ${e.host}:${e.port} (${e.what})`).join('\n'), { mediaType: 'text/plain', fileName: 'endpoints.txt' });
}

Given('the testbed is up with {int} wearable and a device reserved for external clients', { timeout: 240_000 }, async function (this: TestbedWorld, n: number) {
  assert.equal(n, 1, 'this feature starts one emulated wearable (and the reserved device)');
  await startUp(this, {});
});

Given('the testbed is up with {int} wearable and a MITM on the gateway→cloud link presenting a self-signed certificate', { timeout: 240_000 }, async function (this: TestbedWorld, n: number) {
  assert.equal(n, 1, 'this feature starts one emulated wearable (and the reserved device)');
  await startUp(this, { gatewayCloudMitm: { forgedCase: 'self-signed', stolenGatewayIdentity: false } });
});

Given('the testbed is up with {int} wearable and a device link delayed by {int} ms each way', { timeout: 240_000 }, async function (this: TestbedWorld, n: number, ms: number) {
  assert.equal(n, 1, 'this feature starts one emulated wearable (and the reserved device)');
  await startUp(this, {}, [latency({ ms })]);
});

Given('the testbed is up with {int} wearable and a MITM on the device link presenting a self-signed certificate', { timeout: 240_000 }, async function (this: TestbedWorld, n: number) {
  assert.equal(n, 1, 'this feature starts one emulated wearable (and the reserved device)');
  await startUp(this, { deviceGatewayMitm: { forgedCase: 'self-signed' } });
});

When('an external publisher seals a reading with {word} for the reserved device', function (this: TestbedWorld, values: string) {
  const s = state(this);
  s.sealed = sealReading({ runDir: s.graph.evidence.dir, deviceId: s.graph.pki.externalDevice.id, emulatedDevices: [], reading: parseReading(values) });
  assert.equal(s.sealed.packet.length, 96, 'an E3 packet is 96 bytes');
});

When('it sends the packet with mosquitto_pub to {reachable role}', { timeout: 30_000 }, async function (this: TestbedWorld, role: string) {
  const s = state(this);
  if (!s.sealed) throw new Error('seal a reading first ("When an external publisher seals a reading …")');
  const payload = join(s.graph.evidence.dir, 'external-e3.bin');
  writeFileSync(payload, s.sealed.packet, { mode: 0o600 });
  s.run = await runBounded('mosquitto_pub', [...mosquittoArgs(s.graph.endpoint(role), s.graph.pki), '-t', s.sealed.topic, '-f', payload, '-q', '1'], { timeoutMs: 15_000 });
  this.attach(`${s.run.command}\nexit ${s.run.exitCode}\n${s.run.stdout}${s.run.stderr}`, { mediaType: 'text/plain', fileName: 'mosquitto_pub.txt' });
  assert.equal(s.run.exitCode, 0, `mosquitto_pub failed (exit ${s.run.exitCode}${s.run.timedOut ? ', timed out' : ''}): ${s.run.stderr.trim()}`);
});

Then("the cloud's audit accepts the reserved device's packet with the sealed sequence and a heart rate of {int}", { timeout: 30_000 }, async function (this: TestbedWorld, hr: number) {
  const s = state(this);
  const sealed = s.sealed as Sealed;
  const deadline = Date.now() + 15_000;
  let entry;
  while (!(entry = (await s.graph.audit()).find((e) => e.deviceId === sealed.deviceId)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.ok(entry, `the cloud audited nothing from ${sealed.deviceId} within 15 s; audit: ${JSON.stringify((await s.graph.audit()).map((e) => `${e.verdict} ${e.deviceId ?? ''} ${e.reason ?? ''}`))}`);
  assert.equal(entry.verdict, 'accepted', `the cloud rejected the external packet: ${entry.reason} (${entry.detail})`);
  assert.equal(BigInt(String(entry.sequence)), sealed.sequence, `the cloud opened sequence ${entry.sequence}, the sealer used ${sealed.sequence}`);
  assert.equal(entry.reading?.heartRateBpm, hr, `the cloud read heart rate ${entry.reading?.heartRateBpm}, the publisher sealed ${hr}`);
});

Then("the gateway's capture of the device link holds the publish only as TLS records", function (this: TestbedWorld) {
  const s = state(this);
  const sealed = s.sealed as Sealed;
  const capture = s.graph.links.find((l) => l.name === 'device-gateway')?.capture;
  assert.ok(capture, 'the graph has no captured device-gateway link');
  const bytes = readFileSync(capture);
  assert.equal(bytes.indexOf(Buffer.from(sealed.packet)), -1, `the device-link capture ${capture} holds the E3 packet in clear: the publish did not travel inside TLS`);
  assert.equal(bytes.indexOf(Buffer.from(sealed.topic)), -1, `the device-link capture ${capture} shows the MQTT topic ${sealed.topic} in clear`);
  // TLS 1.3 application data records (content type 23, legacy version 0x0303, RFC 8446 §5.2).
  assert.ok(bytes.indexOf(Buffer.from([0x17, 0x03, 0x03])) >= 0, `the device-link capture ${capture} holds no TLS application data record`);
});

When("mosquitto_sub with the reserved device's certificate subscribes to {device}'s topic at {reachable role}", { timeout: 30_000 }, async function (this: TestbedWorld, device: string, role: string) {
  const s = state(this);
  const target = readProvisioning(s.graph.evidence.provisioning).find((d) => d.deviceId === device);
  if (!target) throw new Error(`the running graph has no device ${device}`);
  const args = mosquittoArgs(s.graph.endpoint(role), s.graph.pki);
  const clientId = args[args.indexOf('-i') + 1] as string;
  const topic = e3Topic(target.pseudonymHex);
  // Bounded: one message or 10 s without one (-W), then it exits; the run's own timeout backs it up.
  let subscribed: () => void = () => undefined;
  const ready = new Promise<void>((r) => (subscribed = r));
  const run = runBounded('mosquitto_sub', [...args, '-t', topic, '-C', '1', '-W', '10', '-d'], { timeoutMs: 20_000, closeStdinAfterMs: 0 });
  s.subscriber = { run, clientId, topic };
  // Wait for the broker's answer to SUBSCRIBE (Mosquitto: a SUBACK; Aedes: it closes the connection).
  void run.then(() => subscribed());
  const deadline = Date.now() + 10_000;
  const observed = async () => (await s.graph.role('cloud-broker').observations()).some((o) => (o.kind === 'subscribe' || o.kind === 'subscribe-refused') && o.detail.topic === topic);
  while (!(await observed()) && Date.now() < deadline) await Promise.race([ready, new Promise((r) => setTimeout(r, 200))]);
  assert.ok(await observed(), `the broker recorded no SUBSCRIBE to ${topic} from ${clientId} within 10 s`);
});

When('{device} sends {int} reading(s) through the gateway', { timeout: 60_000 }, async function (this: TestbedWorld, device: string, n: number) {
  await state(this).graph.report(device, n);
});

Then("the cloud's audit accepts {device}'s reading", async function (this: TestbedWorld, device: string) {
  const accepted = (await state(this).graph.audit()).filter((e) => e.deviceId === device && e.verdict === 'accepted');
  assert.ok(accepted.length >= 1, `the cloud accepted nothing from ${device}: the reading never reached the topic the subscriber asked for`);
});

Then('mosquitto_sub received no message', { timeout: 30_000 }, async function (this: TestbedWorld) {
  const sub = state(this).subscriber;
  if (!sub) throw new Error('no mosquitto_sub ran; add "When mosquitto_sub … subscribes …"');
  const run = await sub.run;
  this.attach(`${run.command}\nexit ${run.exitCode}\n${run.stdout}${run.stderr}`, { mediaType: 'text/plain', fileName: 'mosquitto_sub.txt' });
  assert.ok(!/received PUBLISH/.test(run.stdout + run.stderr), `mosquitto_sub received a message on ${sub.topic}: the broker delivered another device's reading\n${run.stdout}`);
});

Then("the broker's own record shows it kept {device}'s reading from that subscriber", async function (this: TestbedWorld, device: string) {
  const s = state(this);
  const sub = s.subscriber;
  if (!sub) throw new Error('no mosquitto_sub ran');
  const broker = await s.graph.role('cloud-broker').observations();
  const refused = broker.filter((o) => o.kind === 'subscribe-refused' && o.detail.topic === sub.topic);
  const granted = broker.filter((o) => o.kind === 'subscribe' && o.detail.topic === sub.topic && o.detail.clientId === sub.clientId);
  const delivered = broker.filter((o) => o.kind === 'deliver' && o.detail.topic === sub.topic);
  // Aedes (authorizeSubscribe) refuses the SUBSCRIBE and closes the connection; Mosquitto grants
  // it (SUBACK with QoS 0) and its ACL then withholds every PUBLISH on the topic from the client.
  if (refused.length > 0) {
    this.attach(`the broker refused the SUBSCRIBE: ${refused.map((o) => o.summary).join('; ')}`, { mediaType: 'text/plain' });
    return;
  }
  assert.ok(granted.length > 0, `the broker's record holds neither a refused nor a granted SUBSCRIBE to ${sub.topic} from ${sub.clientId}`);
  assert.ok(delivered.some((o) => o.detail.clientId !== sub.clientId), `the broker's record shows no delivery of ${device}'s reading to the cloud service, so it proves nothing about the subscriber`);
  const leaked = delivered.filter((o) => o.detail.clientId === sub.clientId);
  assert.equal(leaked.length, 0, `the broker delivered ${device}'s reading to ${sub.clientId}: ${leaked.map((o) => o.summary).join('; ')}`);
  this.attach(`the broker granted the SUBSCRIBE (${granted.map((o) => o.summary).join('; ')}) and delivered the reading only to ${[...new Set(delivered.map((o) => String(o.detail.clientId)))].join(', ')}`, { mediaType: 'text/plain' });
});

When("the source chapter's openssl s_client line connects to {reachable role} with the reserved device's certificate", { timeout: 30_000 }, async function (this: TestbedWorld, role: string) {
  const s = state(this);
  // Nothing on stdin: s_client completes the handshake, prints the session and quits at end of input.
  s.run = await runBounded('openssl', [...chapterSClientArgs(s.graph.endpoint(role), s.graph.pki), '-nocommands'], { stdin: new Uint8Array(0), timeoutMs: 15_000, closeStdinAfterMs: 1_500 });
  this.attach(`${s.run.command}\nexit ${s.run.exitCode}\n${s.run.stdout}\n${s.run.stderr}`, { mediaType: 'text/plain', fileName: 's_client.txt' });
});

Then('s_client negotiated TLS 1.3 with one of the two suites the line offers and verified the certificate', function (this: TestbedWorld) {
  const run = state(this).run as ExternalRun;
  const m = /New, (TLSv[\d.]+), Cipher is (\S+)/.exec(run.stdout);
  assert.ok(m, `s_client completed no handshake:\n${run.stderr.trim().slice(0, 600)}`);
  assert.equal(m[1], 'TLSv1.3', `s_client negotiated ${m[1]}, not TLS 1.3`);
  // The line offers exactly these two (-ciphersuites); which one wins is the server's choice.
  assert.ok(['TLS_AES_128_GCM_SHA256', 'TLS_CHACHA20_POLY1305_SHA256'].includes(m[2] as string), `s_client negotiated ${m[2]}, a suite the chapter's line does not offer`);
  assert.match(run.stdout, /Verify return code: 0 \(ok\)/, `s_client did not verify the certificate: ${sClientVerifyError(run) ?? run.stderr.trim()}`);
  this.attach(`negotiated ${m[1]} ${m[2]}; certificate verified`, { mediaType: 'text/plain' });
});

Then('s_client reports {string} and carries on', function (this: TestbedWorld, error: string) {
  const run = state(this).run as ExternalRun;
  assert.equal(sClientVerifyError(run), error, `s_client's verification error was "${sClientVerifyError(run) ?? 'none'}", expected "${error}"`);
  assert.match(run.stdout, /New, TLSv1\.3, Cipher is/, 's_client stopped at the verification error: the chapter\'s line would not be intercepted');
});

Then("the MITM's records show it completed the TLS handshake with s_client", async function (this: TestbedWorld) {
  const mitm = await state(this).graph.role('mitm-proxy').observations();
  const done = mitm.filter((o) => o.kind === 'handshake-complete');
  assert.ok(done.length > 0, `the MITM recorded no completed handshake; it recorded: ${mitm.map((o) => o.kind).join(', ')}`);
  this.attach(done.map((o) => o.summary).join('\n'), { mediaType: 'text/plain', fileName: 'mitm-handshakes.txt' });
});

After({ tags: '@up' }, async function (this: TestbedWorld) {
  const s = peers.get(this);
  if (!s) return;
  peers.delete(this);
  await s.graph.down();
});
