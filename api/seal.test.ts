/** External sealing: genuine packets the cloud's opener accepts, and never a sequence twice. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePki } from '../certs/pki.ts';
import { writePki } from '../certs/pki-files.ts';
import { provisionDevice, writeProvisioning } from '../emulators/provisioning.ts';
import { EXTERNAL_SEQUENCE_START_FOR_EMULATED, parseReading, sealReading } from './seal.ts';

async function run(): Promise<{ dir: string; done: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'tb-seal-'));
  const ids = ['wearable-0001', 'wearable-0002'];
  await writePki(await generatePki({ wearableIds: ids }), join(dir, 'pki'));
  writeProvisioning(dir, ids.map((id, i) => provisionDevice(id, i + 1)));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('sealed packets count up per device from a sequence file (0600) and carry the reading asked for', async () => {
  const r = await run();
  try {
    const a = sealReading({ runDir: r.dir, deviceId: 'wearable-0002', emulatedDevices: ['wearable-0001'], reading: { heartRateBpm: 72, spo2Percent: 98 } });
    const b = sealReading({ runDir: r.dir, deviceId: 'wearable-0002', emulatedDevices: ['wearable-0001'] });
    assert.equal(a.packet.length, 96);
    assert.deepEqual([a.sequence, b.sequence], [1n, 2n]);
    const file = join(r.dir, 'external-sequences', 'wearable-0002.seq');
    assert.equal(readFileSync(file, 'utf8').trim(), '3');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(a.reading.heartRateBpm, 72);
    assert.notDeepEqual(Buffer.from(a.packet.subarray(28)), Buffer.from(b.packet.subarray(28)));
  } finally {
    r.done();
  }
});

test('a device an emulated wearable uses is sealed from 2^32 on, never where the wearable counts', async () => {
  const r = await run();
  try {
    const s = sealReading({ runDir: r.dir, deviceId: 'wearable-0001', emulatedDevices: ['wearable-0001'] });
    assert.equal(s.sequence, EXTERNAL_SEQUENCE_START_FOR_EMULATED);
  } finally {
    r.done();
  }
});

test('an unknown device is refused with the devices the run has', async () => {
  const r = await run();
  try {
    assert.throws(() => sealReading({ runDir: r.dir, deviceId: 'wearable-0099', emulatedDevices: [] }), /has no device "wearable-0099"; its devices: wearable-0001, wearable-0002/);
    assert.throws(() => sealReading({ runDir: join(r.dir, 'nowhere'), deviceId: 'wearable-0001', emulatedDevices: [] }), /cannot read .*provisioning\.json/);
  } finally {
    r.done();
  }
});

test('--reading values: hr and spo2 with their ranges, anything else refused', () => {
  assert.deepEqual(parseReading('hr=72,spo2=98'), { heartRateBpm: 72, spo2Percent: 98 });
  assert.throws(() => parseReading('hr=900'), /hr must be 20\.\.300 bpm/);
  assert.throws(() => parseReading('temp=37'), /unknown value "temp"; use hr and spo2/);
  assert.throws(() => parseReading('hr=fast'), /each part is name=number/);
});
