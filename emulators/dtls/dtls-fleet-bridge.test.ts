/**
 * The driver of the bridge's fleet mode (many DTLS client sessions in one pion process) against
 * the real binary: sessions opened by id with their own PSK identity, every datagram relayed on
 * its own session and every answer back under the id it was opened with; bad opens answered with
 * the bridge's own error line. Skipped with the install command when Go is missing, as
 * dtls-bridge-process.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DtlsBridgeProcess, DtlsBridgeUnavailableError, dtlsBridgeArgs, ensureDtlsBridge } from './dtls-bridge-process.ts';
import { skipForMissingTool } from '../../cli/prerequisites.ts';

const psk = '000102030405060708090a0b0c0d0e0f';
const ciphers = ['PSK-AES128-GCM-SHA256'];
const skip = await ensureDtlsBridge().then(
  () => false,
  (err: Error) => (err instanceof DtlsBridgeUnavailableError ? skipForMissingTool(err.message) : false),
);

test('fleet arguments: the client flags without a PSK identity, and a bounded --max-sessions', () => {
  const own = { own: { host: '127.0.0.1', port: 7000 } };
  assert.deepEqual(dtlsBridgeArgs({ mode: 'fleet', connect: { host: '127.0.0.1', port: 5684 }, pskHex: psk, maxSessions: 200 }, own), [
    'fleet', '--psk', psk, '--connect', '127.0.0.1:5684', '--plain', '127.0.0.1:0', '--plain-peer', '127.0.0.1:7000', '--max-sessions', '200',
  ]);
  assert.throws(() => dtlsBridgeArgs({ mode: 'fleet', connect: { host: '127.0.0.1', port: 5684 }, pskHex: psk, maxSessions: 20_000 }, own), /maxSessions must be 1\.\.10000/);
});

test('one fleet bridge carries 100 PSK sessions; each answer comes back under its own session id', { skip, timeout: 120_000 }, async () => {
  const server = await DtlsBridgeProcess.start({ mode: 'server', listen: { host: '127.0.0.1', port: 0 }, pskHex: psk, ciphers }, { name: 'server' });
  const fleet = await DtlsBridgeProcess.start({ mode: 'fleet', connect: server.dtlsAddress, pskHex: psk, ciphers, maxSessions: 100 }, { name: 'fleet' });
  try {
    const n = 100;
    server.onDatagram((payload, peerId) => server.send(Buffer.concat([Buffer.from('ack '), payload]), peerId));
    const answers = new Map<number, string>();
    fleet.onDatagram((payload, session) => answers.set(session, Buffer.from(payload).toString()));
    for (let id = 1; id <= n; id++) fleet.command({ cmd: 'open', peerId: id, identity: `wearable-${String(id).padStart(4, '0')}` });
    await fleet.log.waitFor(`${n} handshakes`, () => fleet.log.ofKind('handshake').length >= n, 60_000);
    for (let id = 1; id <= n; id++) fleet.send(Buffer.from(`reading of ${id}`), id);
    const until = Date.now() + 20_000;
    while (answers.size < n && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(answers.size, n, `answers came back on ${answers.size} of ${n} sessions`);
    for (const [id, text] of answers) assert.equal(text, `ack reading of ${id}`, `session ${id} got another session's answer`);
    const identities = new Set(server.log.ofKind('handshake').map((o) => o.detail.peerId));
    assert.equal(identities.size, n, `the server saw ${identities.size} DTLS sessions, not ${n}`);
    // A second open of a live id, and one past the bound, are refused by the bridge and it serves on.
    fleet.command({ cmd: 'open', peerId: 7, identity: 'wearable-0007' });
    fleet.command({ cmd: 'open', peerId: n + 1, identity: 'wearable-0101' });
    await fleet.log.waitFor('two refusals', () => fleet.log.ofKind('error').length >= 2, 5_000);
    assert.deepEqual(fleet.log.ofKind('error').map((o) => /already open|--max-sessions/.test(String(o.detail.error))), [true, true]);
    const stats = await fleet.stats();
    assert.equal(stats.established, n);
  } finally {
    await fleet.stop();
    await server.stop();
  }
});
