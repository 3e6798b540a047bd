/**
 * A DTLS fleet on one bridge process (dtls-fleet-transport.ts, dtls-fleet-device.ts) over a lossy,
 * reordering UDP link to a server bridge whose TypeScript side is the cloud service (E3 open, replay
 * window, audit) answering each reading with an ack: every reading opened exactly once, every extra
 * copy refused as "replay", nothing given up. Against the real bridge binary; skipped with the
 * install command when Go is missing (as dtls-bridge-process.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DtlsBridgeProcess, DtlsBridgeUnavailableError, ensureDtlsBridge } from './dtls-bridge-process.ts';
import { DtlsFleetTransport } from './dtls-fleet-transport.ts';
import { DtlsFleetDevice } from './dtls-fleet-device.ts';
import { decodeReadingDatagram, encodeAckDatagram } from './reading-datagram.ts';
import { skipForMissingTool } from '../../cli/prerequisites.ts';
import { generatePki } from '../../certs/pki.ts';
import { issueFleetCertificates } from '../../certs/fleet-certificates.ts';
import { provisionDevice } from '../provisioning.ts';
import { deviceVitals } from '../device-sealer.ts';
import { FleetSealer } from '../fleet/fleet-sealer.ts';
import { FleetLedger } from '../fleet/fleet-ledger.ts';
import { CloudService } from '../cloud/cloud-service.ts';
import { DeviceRegistry } from '../cloud/device-registry.ts';
import { e3Topic } from '../wearable.ts';
import { UdpLink } from '../../links/udp-link.ts';
import { loss, reorder } from '../../links/impairments.ts';
import { E3_PSEUDONYM_BYTES, E3_SEQUENCE_OFFSET } from '../../crypto/e3-packet.ts';
import { fleetDeviceIds } from '../../topology/fleet-rig.ts';

const psk = '000102030405060708090a0b0c0d0e0f';
const ciphers = ['PSK-AES128-GCM-SHA256'];
const skip = await ensureDtlsBridge().then(
  () => false,
  (err: Error) => (err instanceof DtlsBridgeUnavailableError ? skipForMissingTool(err.message) : false),
);

test('50 DTLS wearables on one bridge, 10% loss each way and reordering: every reading opened once, every extra copy a replay', { skip, timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtls-fleet-'));
  const ids = fleetDeviceIds(50);
  const pki = await generatePki({ wearableIds: [] });
  issueFleetCertificates(pki, ids);
  const provisioned = ids.map((id, i) => provisionDevice(id, i + 1));
  const registry = new DeviceRegistry();
  for (const d of provisioned) registry.register(d, (pki.wearables.get(d.deviceId) as { certPem: string }).certPem);
  const service = new CloudService({ registry, cloudE3PrivateKey: createPrivateKey(pki.cloudE3.privateKeyPem), nowSec: () => Math.floor(Date.now() / 1000), auditFile: join(dir, 'audit.jsonl') });
  const ledger = new FleetLedger();
  const server = await DtlsBridgeProcess.start({ mode: 'server', listen: { host: '127.0.0.1', port: 0 }, pskHex: psk, ciphers, maxPeers: 100 }, { name: 'cloud-dtls' });
  // The cloud: open every reading, then acknowledge its sequence (a replay too: its ack was lost).
  server.onDatagram((payload, peerId) => {
    const d = decodeReadingDatagram(payload);
    if (d instanceof Error || d.type !== 'reading') return;
    const pseudonymHex = Buffer.from(d.packet.subarray(0, E3_PSEUDONYM_BYTES)).toString('hex');
    const entry = service.ingest(d.packet, { topic: e3Topic(pseudonymHex), deliveredBy: `dtls peer ${peerId}` });
    ledger.observe(entry);
    if (entry.verdict === 'accepted' || entry.reason === 'replay') server.send(encodeAckDatagram(pseudonymHex, [Buffer.from(d.packet).readBigUInt64BE(E3_SEQUENCE_OFFSET)]), peerId);
  });
  const link = new UdpLink({ name: 'fleet-cloud', listen: { host: '127.0.0.1', port: 0 }, target: server.dtlsAddress, impairments: { clientToServer: [loss({ rate: 0.1 }), reorder({ rate: 0.2, holdMs: 30 })], serverToClient: [loss({ rate: 0.1 }), reorder({ rate: 0.2, holdMs: 30 })], seed: 11 } });
  const endpoint = await link.start();
  const transport = await DtlsFleetTransport.start({ connect: endpoint, pskHex: psk, ciphers, maxSessions: ids.length, handshakeTimeoutMs: 15_000 });
  const ticker: { timer?: NodeJS.Timeout } = {};
  try {
    const devices = provisioned.map((p, i) => {
      const keyPem = (pki.wearables.get(p.deviceId) as { keyPem: string }).keyPem;
      return new DtlsFleetDevice({ provisioning: p, sealer: new FleetSealer(p, keyPem, pki.cloudE3.publicKeyPem), vitals: deviceVitals(p), clock: { nowSec: () => Math.floor(Date.now() / 1000) }, send: (datagram) => transport.send(i + 1, datagram), resend: { intervalMs: 150, maxAttempts: 20 } });
    });
    await Promise.all(devices.map((d, i) => transport.openWithRetries(i + 1, d.deviceId, (payload) => d.received(payload), 60_000, 4)));
    ticker.timer = setInterval(() => devices.forEach((d) => d.tick(Date.now())), 20);
    for (let round = 0; round < 3; round++) for (const d of devices) d.read(Date.now());
    const until = Date.now() + 60_000;
    while (devices.some((d) => d.pending > 0) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    const report = ledger.report(Object.fromEntries(devices.map((d) => [d.deviceId, d.sealed])));
    const resends = devices.reduce((s, d) => s + d.resends, 0);
    assert.equal(devices.reduce((s, d) => s + d.givenUp, 0), 0, 'readings were given up after every resend');
    assert.equal(devices.reduce((s, d) => s + d.pending, 0), 0, 'readings are still unacknowledged after 60 s');
    assert.deepEqual(report.gaps, [], 'readings missing or extra at the cloud');
    assert.equal(report.accepted, 150);
    // Order is not promised over UDP: a resent reading may be opened after a later one, inside
    // the E3 replay window; the ledger's gaps above already say each sequence 1..n came once.
    assert.deepEqual(Object.keys(report.rejectedByReason).filter((r) => r !== 'replay'), [], `the cloud refused readings for other reasons: ${JSON.stringify(report.rejectedByReason)}`);
    assert.ok(resends > 0, 'no reading was resent: the link lost nothing, so the test proved nothing');
    assert.equal(report.duplicatesRefused, report.rejectedByReason.replay ?? 0);
  } finally {
    clearInterval(ticker.timer);
    await transport.stop();
    await link.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a fleet device takes only acks for its own pseudonym; anything else on its session is counted and ignored', () => {
  const p = provisionDevice('wearable-0001', 1);
  const other = provisionDevice('wearable-0002', 2);
  const sent: Uint8Array[] = [];
  const sealer = { nextSequence: 1n, seal(): Uint8Array { this.nextSequence++; return new Uint8Array(96); } };
  const d = new DtlsFleetDevice({ provisioning: p, sealer, vitals: deviceVitals(p), clock: { nowSec: () => 0 }, send: (x) => sent.push(x), resend: { intervalMs: 10, maxAttempts: 2 } });
  d.read(0);
  for (const hostile of [new Uint8Array(0), Uint8Array.of(0x07, 1, 2), encodeAckDatagram(other.pseudonymHex, [1n]), Uint8Array.of(0x02, ...new Uint8Array(16), 0)]) d.received(hostile);
  assert.equal(d.refusedDatagrams, 4);
  assert.equal(d.pending, 1, 'another device\'s ack or a malformed datagram cleared a reading');
  d.tick(10);
  d.tick(20);
  assert.equal(sent.length, 2, 'one send and one resend (maxAttempts 2)');
  assert.equal(d.givenUp, 1, 'a reading out of resends is counted as given up');
  assert.throws(() => new DtlsFleetDevice({ provisioning: p, sealer, vitals: deviceVitals(p), clock: { nowSec: () => 0 }, send: () => undefined, resend: { intervalMs: 1, maxAttempts: 0 } }), /intervalMs ≥ 10 and maxAttempts 1\.\.100/);
});
