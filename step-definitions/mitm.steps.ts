/**
 * The forged-certificate matrix: a MITM presents one forged certificate to one client, and we
 * judge from both ends what happened — the client's own error, and every byte the MITM got.
 */
import { Given, Then, When } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { findLeaks } from '../analysis/leak-search.ts';
import { E3_PACKET_BYTES } from '../crypto/e3-packet.ts';
import { attemptInterception, type InterceptionOutcome } from '../topology/mitm-rig.ts';
import { runDirectory } from './run-context.ts';
import { isCi, prerequisite } from '../cli/prerequisites.ts';
import type { TestbedWorld } from './world.ts';
import { scenarioState } from './scenario-state.ts';
import { skip } from './skip.ts';
import { attachEvidenceFiles, attachInterceptionCell, inRun } from './evidence.ts';

const of = scenarioState<{ forgedCase?: string; outcome?: InterceptionOutcome }>(() => ({}));

function outcome(world: TestbedWorld): InterceptionOutcome {
  const o = of(world).outcome;
  if (!o) throw new Error('no interception was attempted; add "When the … client publishes readings through it"');
  return o;
}

function summary(o: InterceptionOutcome): string {
  const lines = [
    `forged certificate: ${o.forgedCase} — ${o.explain}`,
    `client: ${o.client}; handshake completed: ${o.attempt.handshakeCompleted}; error: ${o.attempt.error ?? '(none)'}${o.attempt.timedOut ? ' (timed out)' : ''}; alert seen by the MITM: ${o.alertSeenByMitm ?? '(none)'}`,
    ...(o.attempt.transcript ? [o.attempt.transcript] : []),
    `MITM obtained ${o.plaintextBytes} plaintext bytes`,
    ...o.proxy.map((p) => `  mitm ${p.kind}: ${p.summary}`),
    `capture: ${o.capture}`,
    `key log: ${o.keyLog}`,
  ];
  return lines.join('\n');
}

Given('a MITM on the wearable\'s path to the cloud presenting the {forged certificate}', function (this: TestbedWorld, forgedCase: string) {
  of(this).forgedCase = forgedCase;
});

When('the {client} publishes readings through it', async function (this: TestbedWorld, client: string) {
  const forgedCase = of(this).forgedCase;
  if (!forgedCase) throw new Error('say which forged certificate the MITM presents first ("Given a MITM … presenting the \\"self-signed\\" forged certificate")');
  if (forgedCase === 'replaced-key') {
    // Served by the Go impostor (OpenSSL cannot load this credential): it needs Go to build.
    const go = await prerequisite('go');
    if (!go.available) {
      if (isCi()) throw new Error(`CI: ${go.reason}`);
      return skip(this, go.reason ?? 'go is missing');
    }
  }
  const o = await attemptInterception({ runDir: runDirectory(), dir: this.dir, forgedCase, client, readings: 2, timeoutMs: 5_000 });
  of(this).outcome = o;
  this.attach(summary(o), { mediaType: 'text/plain', fileName: 'interception.txt' });
  attachEvidenceFiles(this, this.dir, { captures: [{ link: 'victim-mitm', path: o.capture }], keyLog: o.keyLog });
  const read = o.plaintextBytes > 0 || o.proxy.some((p) => p.kind === 'mqtt-packet');
  attachInterceptionCell(this, { forgedCase: o.forgedCase, client: o.client, observed: read ? 'intercepted' : 'blocked', reason: [o.attempt.error, o.alertSeenByMitm].filter(Boolean).join(' | ') || (read ? 'connected to the MITM' : '(no reason given)'), ...(inRun(o.capture) ? { capture: inRun(o.capture) } : {}), ...(inRun(o.keyLog) ? { keyLog: inRun(o.keyLog) } : {}) });
});

Then('the interception is {interception result}', function (this: TestbedWorld, expected: 'blocked' | 'intercepted') {
  const o = outcome(this);
  const mqtt = o.proxy.filter((p) => p.kind === 'mqtt-packet');
  if (expected === 'blocked') {
    assert.ok(!o.attempt.timedOut, `the ${o.client} client hung instead of failing (killed after the timeout):\n${summary(o)}`);
    assert.equal(o.attempt.handshakeCompleted, false, `the ${o.client} client completed its handshake with the MITM:\n${summary(o)}`);
    assert.equal(o.plaintextBytes, 0, `the MITM obtained ${o.plaintextBytes} application bytes:\n${summary(o)}`);
    assert.equal(mqtt.length, 0, `the MITM read MQTT packets:\n${summary(o)}`);
    return;
  }
  const connect = mqtt.find((p) => p.detail.cmd === 'connect');
  assert.ok(connect, `the MITM did not read the victim's MQTT CONNECT:\n${summary(o)}`);
  const publishes = mqtt.filter((p) => p.detail.cmd === 'publish');
  assert.ok(publishes.length >= 1, `the MITM read no PUBLISH:\n${summary(o)}`);
  // Intercepted, and still E3: what it read is 96-byte ciphertext it cannot open.
  for (const p of publishes) {
    assert.equal(p.bytes?.length, E3_PACKET_BYTES, `a payload the MITM read is ${p.bytes?.length} bytes, not E3`);
    assert.ok(o.sentPackets.some((s) => Buffer.from(s).equals(Buffer.from(p.bytes as Uint8Array))), 'the MITM read a payload the victim did not send');
  }
  const haystacks = o.proxy.flatMap((p, i) => (p.bytes ? [{ label: `mitm record ${i + 1} (${p.kind})`, bytes: p.bytes }] : []));
  assert.deepEqual(findLeaks(o.secrets, haystacks), [], 'the MITM holds a reading or the patient identity in clear');
});

Then('the client reports {string}', function (this: TestbedWorld, reason: string) {
  const o = outcome(this);
  if (reason === '-') {
    assert.equal(o.attempt.error, undefined, `the client reported an error: ${o.attempt.error}`);
    return;
  }
  const said = [o.attempt.error, o.alertSeenByMitm].filter(Boolean).join(' | ');
  assert.ok(said.includes(reason), `expected the ${o.client} client to report "${reason}" (its error or the alert it sent); it reported: ${said || '(nothing)'}`);
});
