/**
 * Scenario lifecycle: a fresh directory (and per-run PKI) for every scenario; after it, stop
 * every role — also after a failure — and attach the evidence an analyst opens in Wireshark.
 */
import { After, Before, setDefaultTimeout, Status } from '@cucumber/cucumber';
import { readFileSync, existsSync } from 'node:fs';
import { basename } from 'node:path';
import { TestbedWorld } from './world.ts';
import { prerequisite } from '../cli/prerequisites.ts';

// A role that hangs fails its step; nothing waits longer than this.
setDefaultTimeout(60_000);

Before(function (this: TestbedWorld, { pickle }) {
  this.dir = TestbedWorld.newScenarioDir(pickle.name);
});

// A feature tagged @local-only builds its own loopback rig (one victim, one attacker, one
// broker) instead of using the topology placement: on another placement it would only run
// locally again and claim a container result it did not produce, so it is skipped, saying why.
Before({ tags: '@local-only' }, function (this: TestbedWorld) {
  const placement = process.env.TESTBED_TOPOLOGY ?? 'local';
  if (placement === 'local') return undefined;
  this.attach(`skipped: this feature runs its own loopback rig, not the ${placement} placement; run it with --topology local`, { mediaType: 'text/plain' });
  return 'skipped';
});

// A scenario tagged @needs-<tool> is skipped, with the reason and the fix, when the tool is
// missing; in CI a missing tool is a failure (the setup must have installed it).
Before(async function (this: TestbedWorld, { pickle }) {
  for (const tag of pickle.tags.map((t) => t.name).filter((n) => n.startsWith('@needs-'))) {
    const status = await prerequisite(tag.slice('@needs-'.length));
    if (status.available) continue;
    if (process.env.CI) throw new Error(`CI: ${status.reason}`);
    this.attach(`skipped: ${status.reason}`, { mediaType: 'text/plain' });
    return 'skipped';
  }
  return undefined;
});

After(async function (this: TestbedWorld, { result }) {
  const evidence = await this.finish();
  if (!evidence) return;
  for (const capture of evidence.captures) {
    if (existsSync(capture.path)) this.attach(readFileSync(capture.path), { mediaType: 'application/vnd.tcpdump.pcap', fileName: basename(capture.path) });
  }
  const note = [`evidence directory: ${this.dir}`, `TLS key log (SSLKEYLOGFILE): ${evidence.keyLog}`, `audit log: ${evidence.auditLog}`];
  for (const c of evidence.captures) note.push(`capture ${c.link}: ${c.path}  (wireshark -o tls.keylog_file:${evidence.keyLog} ${c.path})`);
  this.attach(note.join('\n'), { mediaType: 'text/plain', fileName: 'evidence.txt' });
  if (result?.status === Status.FAILED && existsSync(evidence.auditLog)) {
    this.attach(readFileSync(evidence.auditLog, 'utf8'), { mediaType: 'text/plain', fileName: 'audit.jsonl' });
  }
});
