/** Runs the API example (docs/api.md) on the local placement: the documented code must work as written. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { bringYourOwnClient } from './bring-your-own-client.ts';

const hasMosquittoPub = (() => {
  try {
    execFileSync('mosquitto_pub', ['--help'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
})();

test('the bring-your-own-client example: the cloud accepts the packet mosquitto_pub sent through the gateway', { skip: hasMosquittoPub ? false : 'mosquitto_pub is not installed (testbed doctor prints the command)' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tb-example-'));
  try {
    const entry = await bringYourOwnClient('local', join(dir, 'run'));
    assert.ok(entry, 'the cloud audited nothing from the reserved device');
    assert.equal(entry.verdict, 'accepted', `the cloud rejected the packet: ${entry.reason}`);
    assert.equal(entry.reading?.heartRateBpm, 72);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
