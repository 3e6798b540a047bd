/** `testbed tail audit`: follows entries as they are appended, bounded by a count or a deadline. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditLine, followLines } from './tail.ts';

test('follows lines appended after it started, a partial line only once complete, and stops at --count', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tb-tail-'));
  const file = join(dir, 'audit.jsonl');
  try {
    const seen: string[] = [];
    const following = followLines(file, (l) => seen.push(l), { count: 3, pollMs: 20, deadlineMs: Date.now() + 10_000 });
    appendFileSync(file, '{"a":1}\n{"a":');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(seen, ['{"a":1}']);
    appendFileSync(file, '2}\n{"a":3}\n{"a":4}\n');
    assert.equal(await following, 3);
    assert.deepEqual(seen, ['{"a":1}', '{"a":2}', '{"a":3}']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing file is waited for until the deadline, then it returns', async () => {
  assert.equal(await followLines(join(tmpdir(), 'tb-no-such-audit.jsonl'), () => undefined, { deadlineMs: Date.now() + 100, pollMs: 20 }), 0);
});

test('an audit entry reads as one line with its verdict and reason', () => {
  assert.match(auditLine('{"at":0,"verdict":"accepted","deviceId":"wearable-0002","sequence":"1","reading":{"heartRateBpm":72,"spo2Percent":98},"deliveredBy":"gateway/gateway-01","topic":"wearables/x/e3"}'), /accepted wearable-0002 seq 1 hr 72 spo2 98 {2}delivered by gateway\/gateway-01/);
  assert.match(auditLine('{"at":0,"verdict":"rejected","reason":"bad tag","topic":"t"}'), /REJECTED \(bad tag\)/);
});
