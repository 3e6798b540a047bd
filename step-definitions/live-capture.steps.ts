/**
 * `testbed tail capture LINK` against a running `up` graph (features/live-capture.feature): the
 * CLI's pcapng stream piped into `tshark -r -` while a reading crosses the link, then the stream
 * read block by block (capture/pcapng.ts) for where its secrets sit.
 */
import { Then, When } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestbedWorld } from './world.ts';
import { runningUp } from './external-peers.steps.ts';
import { keyLogOfSecretsBlock, packetOfBlock, PCAPNG_BLOCK, readPcapngBlocks } from '../capture/pcapng.ts';
import { runBounded } from '../emulators/external-clients.ts';
import { readProvisioning } from '../emulators/provisioning.ts';
import { e3Topic } from '../emulators/wearable.ts';

const TESTBED = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'testbed.js');

interface Streamed {
  readonly link: string;
  readonly stream: Buffer;
  /** tshark's MQTT PUBLISH topics, one per line, read live from the pipe. */
  readonly publishedTopics: string[];
  readonly decodeAs: string[];
}

const streamed = new WeakMap<TestbedWorld, Streamed>();

function lastStream(world: TestbedWorld): Streamed {
  const s = streamed.get(world);
  if (!s) throw new Error('nothing was streamed; run "When testbed tail capture streams the … link into tshark …" first');
  return s;
}

/** tshark on stdin: the MQTT PUBLISH topics it can read (needs the TLS secrets for that). */
function tsharkArgs(decodeAs: readonly string[]): string[] {
  return ['-r', '-', ...decodeAs, '-Y', 'mqtt.msgtype == 3', '-T', 'fields', '-e', 'mqtt.topic'];
}

/** One argument for bash, quoted. */
const shq = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;

/** How long the stream runs: long enough for a reading to cross a containers graph on a loaded host. */
const STREAM_SECONDS = 20;

When('testbed tail capture streams the {word} link into tshark while {device} sends {int} reading(s) through the gateway', { timeout: 120_000 }, async function (this: TestbedWorld, link: string, device: string, n: number) {
  const graph = runningUp(this);
  const decodeAs = graph.capturePorts.flatMap((p) => ['-d', `tcp.port==${p},tls`, '-d', `tls.port==${p},mqtt`]);
  const file = join(this.dir, `${link}-live.pcapng`);
  // A shell pipe, as a user types it: tshark refuses a socket on stdin (what Node's pipes are).
  // Bounded by tail's own --timeout; the guard below kills the pipeline if that fails.
  const pipeline = `umask 077; ${[process.execPath, TESTBED, 'tail', 'capture', link, '--run', graph.evidence.dir, '--timeout', String(STREAM_SECONDS)].map(shq).join(' ')} | tee ${shq(file)} | tshark ${tsharkArgs(decodeAs).map(shq).join(' ')}`;
  const child = spawn('bash', ['-o', 'pipefail', '-c', pipeline], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const done = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const guard = setTimeout(() => process.kill(-(child.pid as number), 'SIGKILL'), (STREAM_SECONDS + 60) * 1000);
  try {
    // The stream starts before the reading: tail prints its "streaming …" line once it follows the file.
    const deadline = Date.now() + 30_000;
    while (!err.includes('streaming') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(err.includes('streaming'), `testbed tail capture did not start streaming within 30 s: ${err.trim() || `exit ${child.exitCode}`}`);
    await graph.report(device, n);
    const code = await done;
    this.attach(`${pipeline}\nexit ${code}\n${err.trim()}\n${out}`, { mediaType: 'text/plain', fileName: 'tail-capture.txt' });
    assert.equal(code, 0, `the pipeline testbed tail capture | tee | tshark -r - failed (exit ${code}): ${err.trim().slice(-400)}`);
    streamed.set(this, { link, stream: readFileSync(file), publishedTopics: out.split('\n').map((l) => l.trim()).filter(Boolean), decodeAs });
  } finally {
    clearTimeout(guard);
  }
});

Then("the stream carried the run's TLS key log as a Decryption Secrets Block before the encrypted records", function (this: TestbedWorld) {
  const { stream, link } = lastStream(this);
  const blocks = readPcapngBlocks(stream);
  assert.equal(blocks[0]?.type, PCAPNG_BLOCK.sectionHeader, 'the stream does not start with a pcapng Section Header Block');
  const secrets = blocks.filter((b) => keyLogOfSecretsBlock(b) !== undefined);
  assert.ok(secrets.length > 0, `the ${link} stream holds no Decryption Secrets Block (type 0x0000000A, secrets type TLSK)`);
  const lines = secrets.flatMap((b) => (keyLogOfSecretsBlock(b) as string).split('\n').filter(Boolean));
  assert.ok(lines.some((l) => l.startsWith('CLIENT_TRAFFIC_SECRET_0 ')), `the embedded key log has no TLS 1.3 CLIENT_TRAFFIC_SECRET_0 line; its labels: ${[...new Set(lines.map((l) => l.split(' ')[0]))].join(', ')}`);
  // The first TLS application-data record (type 23, legacy version 0x0303; RFC 8446 §5.2) must come after secrets.
  const firstEncrypted = blocks.find((b) => b.type === PCAPNG_BLOCK.enhancedPacket && packetOfBlock(b).includes(Buffer.from([0x17, 0x03, 0x03])));
  assert.ok(firstEncrypted, `the ${link} stream holds no TLS application data: no reading crossed the link while it was streamed`);
  assert.ok((secrets[0]?.offset ?? Infinity) < firstEncrypted.offset, `the first secrets block (byte ${secrets[0]?.offset}) comes after the first encrypted record (byte ${firstEncrypted.offset}): a one-pass reader cannot decrypt it`);
});

Then("tshark, given no key-log file, decrypts {device}'s reading as an MQTT PUBLISH on its E3 topic", function (this: TestbedWorld, device: string) {
  const graph = runningUp(this);
  const s = lastStream(this);
  const target = readProvisioning(graph.evidence.provisioning).find((d) => d.deviceId === device);
  if (!target) throw new Error(`the running graph has no device ${device}`);
  const topic = e3Topic(target.pseudonymHex);
  assert.ok(s.publishedTopics.includes(topic), `tshark read ${s.publishedTopics.length ? `PUBLISH topics ${s.publishedTopics.join(', ')}` : 'no MQTT PUBLISH'} from the ${s.link} stream, not ${device}'s ${topic}`);
});

Then('without the embedded secrets tshark reads no MQTT in the same stream', { timeout: 60_000 }, async function (this: TestbedWorld) {
  const s = lastStream(this);
  const blocks = readPcapngBlocks(s.stream);
  const stripped = Buffer.concat(blocks.filter((b) => b.type !== PCAPNG_BLOCK.decryptionSecrets).map((b) => s.stream.subarray(b.offset, b.offset + b.body.length + 12)));
  const file = join(this.dir, `${s.link}-live-without-secrets.pcapng`);
  writeFileSync(file, stripped, { mode: 0o600 });
  const run = await runBounded('tshark', tsharkArgs(s.decodeAs).map((a) => (a === '-' ? file : a)), { timeoutMs: 45_000 });
  assert.equal(run.exitCode, 0, `tshark could not read the stream without its secrets: ${run.stderr.trim().slice(0, 300)}`);
  const topics = run.stdout.split('\n').filter((l) => l.trim());
  assert.equal(topics.length, 0, `without the Decryption Secrets Blocks tshark still read MQTT PUBLISHes (${topics.join(', ')}): the link was not encrypted, or tshark found secrets elsewhere`);
});
