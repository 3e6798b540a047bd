/**
 * When the capture of a presented certificate may stop (fleet-revocation.ts
 * untilBrokerClosesPresenter): once the broker closed the presenter's own connection, told apart
 * from the shard's other wearables by the client random its key log names. Shaped on the swarm
 * capture where the revoked wearable's retry was refused first, and on a fleet where another
 * wearable reconnects during the capture and stays open.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter, TcpConversationTap } from '../capture/pcap-writer.ts';
import { readPcap } from '../capture/pcap-reader.ts';
import { presenterClose, untilBrokerClosesPresenter } from './fleet-revocation.ts';

const BROKER = { address: '10.0.9.7', port: 8883 };
const SHARD = '10.0.9.3';
const PRESENTER_PORT = 56982;

/** The first bytes of a TLS 1.3 ClientHello (RFC 8446 §5.1 record, §4.1.2 body) up to its random. */
function clientHello(random: Buffer): Uint8Array {
  return Buffer.concat([Buffer.from([22, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3]), random, Buffer.alloc(40)]);
}

/** A key log of the presenter's handshake, its lines keyed by the ClientHello random. */
function keyLogOf(random: Buffer): string {
  return ['SERVER_HANDSHAKE_TRAFFIC_SECRET', 'CLIENT_HANDSHAKE_TRAFFIC_SECRET'].map((label) => `${label} ${random.toString('hex')} ${randomBytes(32).toString('hex')}\n`).join('');
}

interface Scene {
  readonly capture: string;
  readonly keyLogPath: string;
  readonly keyLog: string;
}

/**
 * A capture beside the shard: the presenter's connection (answered, closed by the broker when
 * `brokerClosedPresenter`), the revoked wearable's retry refused with a RST, and another wearable
 * that reconnected meanwhile, accepted and still open.
 */
function scene(dir: string, brokerClosedPresenter: boolean): Scene {
  const capture = join(dir, `presented-${String(brokerClosedPresenter)}.pcap`);
  const writer = PcapWriter.open(capture);
  let clock = 1_000_000n;
  const tap = (port: number) => new TcpConversationTap(writer, { address: SHARD, port }, BROKER, { clock: () => (clock += 10n) });
  const presenterRandom = randomBytes(32);
  const presenter = tap(PRESENTER_PORT);
  const retry = tap(56990);
  const reconnected = tap(57004);
  presenter.data('client-to-server', clientHello(presenterRandom));
  retry.data('client-to-server', clientHello(randomBytes(32)));
  reconnected.data('client-to-server', clientHello(randomBytes(32)));
  presenter.data('server-to-client', Buffer.from([22, 3, 3, 0, 4, 2, 0, 0, 0]));
  retry.reset('server');
  reconnected.data('server-to-client', Buffer.from([22, 3, 3, 0, 4, 2, 0, 0, 0]));
  if (brokerClosedPresenter) presenter.close('server');
  void writer.close();
  const keyLogPath = join(dir, `presented-${String(brokerClosedPresenter)}.keylog`);
  const keyLog = keyLogOf(presenterRandom);
  writeFileSync(keyLogPath, keyLog);
  return { capture, keyLogPath, keyLog };
}

test('the presenter\'s connection is closed once the broker closed it, whatever the other wearables beside it do', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-revocation-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const closed = scene(dir, true);
  assert.deepEqual(presenterClose(readPcap(closed.capture).packets, closed.keyLog), { clientPort: PRESENTER_PORT, closedByBroker: true },
    'another wearable\'s accepted, open connection held the wait');
  const open = scene(dir, false);
  assert.deepEqual(presenterClose(readPcap(open.capture).packets, open.keyLog), { clientPort: PRESENTER_PORT, closedByBroker: false },
    'the revoked wearable\'s refused retry was taken for the presenter\'s close');
  assert.deepEqual(presenterClose(readPcap(closed.capture).packets, keyLogOf(randomBytes(32))), { closedByBroker: false },
    'a connection was taken for the presenter\'s though its key log names none of them');
});

test('the wait ends once the broker closed the presenter\'s connection, and at its bound says which close it did not see', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-revocation-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const closed = scene(dir, true);
  assert.equal(await untilBrokerClosesPresenter(closed.capture, closed.keyLogPath), undefined);
  const open = scene(dir, false);
  // The capture never changes, so the bound decides nothing but how long the test takes.
  assert.equal(await untilBrokerClosesPresenter(open.capture, open.keyLogPath, 1_000), `fleet: after 1 s, no FIN/RST from the broker for the presenter's connection (port ${PRESENTER_PORT})`);
  const noKeyLog = join(dir, 'never-written.keylog');
  assert.match(await untilBrokerClosesPresenter(open.capture, noKeyLog, 1_000) ?? 'closed', /the capture holds no connection of the presenter \(no ClientHello with a client random from .*never-written\.keylog\)/);
});
