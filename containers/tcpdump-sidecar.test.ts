/** A capture handed back from a sidecar is this process's and readable by it alone (0600). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { handBackCapture } from './tcpdump-sidecar.ts';

test('handBackCapture leaves the pcap mode 0600 and owned by this process, whatever tcpdump wrote', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'tb-cap-')), 'device-gateway.pcap');
  // tcpdump creates its file 0644 under its umask: world-readable, as the sidecar leaves it.
  writeFileSync(path, 'pcap', { mode: 0o644 });
  handBackCapture(path);
  const st = statSync(path);
  assert.equal(st.mode & 0o777, 0o600, `mode ${(st.mode & 0o777).toString(8)}`);
  assert.equal(st.uid, process.getuid?.());
});
