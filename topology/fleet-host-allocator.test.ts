// The fleet host's allocator: libjemalloc.so.2 found in ldconfig's listing for this architecture,
// and a forked wearables process really running on it (its own memory map says so), or on glibc
// malloc when asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generatePki } from '../certs/pki.ts';
import { issueFleetCertificates } from '../certs/fleet-certificates.ts';
import { provisionDevice } from '../emulators/provisioning.ts';
import { GLIBC_MALLOC, fleetHostAllocator, imageFleetAllocator, jemallocFromLdconfig, jemallocLibrary } from './fleet-host-allocator.ts';
import { FleetShardHost } from './fleet-shard-thread.ts';
import { skipForMissingTool } from '../cli/prerequisites.ts';

const LISTING = [
  '1234 libs found in cache `/etc/ld.so.cache\'',
  '\tlibjemalloc.so.2 (libc6,AArch64) => /lib/aarch64-linux-gnu/libjemalloc.so.2',
  '\tlibjemalloc.so.2 (libc6,x86-64) => /lib/x86_64-linux-gnu/libjemalloc.so.2',
  '\tlibjemalloc.so (libc6,x86-64) => /lib/x86_64-linux-gnu/libjemalloc.so',
].join('\n');

test("ldconfig's listing: the entry for this architecture, and none when absent", () => {
  assert.equal(jemallocFromLdconfig(LISTING, 'x64'), '/lib/x86_64-linux-gnu/libjemalloc.so.2');
  assert.equal(jemallocFromLdconfig(LISTING, 'arm64'), '/lib/aarch64-linux-gnu/libjemalloc.so.2');
  assert.equal(jemallocFromLdconfig('\tlibssl.so.3 (libc6,x86-64) => /lib/x86_64-linux-gnu/libssl.so.3', 'x64'), undefined);
  assert.equal(jemallocFromLdconfig('', 'x64'), undefined);
});

test('without the library the host says glibc malloc and how to get jemalloc; with it, LD_PRELOAD first', () => {
  const none = fleetHostAllocator(null);
  assert.equal(none.name, 'glibc malloc');
  assert.deepEqual(none.env, {});
  assert.match(none.note, /testbed setup` installs it/);
  const je = fleetHostAllocator('/lib/x/libjemalloc.so.2');
  assert.equal(je.name, 'jemalloc');
  assert.equal(je.env.LD_PRELOAD?.split(':')[0], '/lib/x/libjemalloc.so.2');
  assert.equal(imageFleetAllocator('x64').env.LD_PRELOAD, '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2');
  assert.equal(imageFleetAllocator('s390x').name, 'glibc malloc');
});

test('a forked wearables process runs on the allocator it was given', async (t) => {
  const library = jemallocLibrary();
  if (!library) {
    t.skip(skipForMissingTool('libjemalloc2 is not installed (testbed setup installs it)'));
    return;
  }
  const pki = await generatePki({ wearableIds: [] });
  issueFleetCertificates(pki, ['wearable-1']);
  const issued = pki.wearables.get('wearable-1') as { keyPem: string; chainPem: string };
  const spec = {
    members: [{ provisioning: provisionDevice('wearable-1', 1), keyPem: issued.keyPem, certChainPem: issued.chainPem }],
    caPem: pki.rootCa.certPem + pki.intermediateCa.certPem,
    cloudE3PublicKeyPem: pki.cloudE3.publicKeyPem,
    endpoint: { host: '127.0.0.1', port: 9, serverName: 'cloud' },
    clock: { startSec: 1_700_000_000, speedup: 10, wallStartMs: Date.now() },
  };
  for (const [allocator, mapped] of [[fleetHostAllocator(library), true], [GLIBC_MALLOC, false]] as const) {
    const host = await FleetShardHost.inForkedProcess(spec, allocator);
    try {
      const maps = readFileSync(`/proc/${host.pid}/maps`, 'utf8');
      assert.equal(maps.includes('libjemalloc'), mapped, `the wearables process on ${allocator.name} ${mapped ? 'has no' : 'has a'} libjemalloc mapping`);
    } finally {
      await host.stop();
    }
  }
  assert.equal(FleetShardHost.running, 0);
});
