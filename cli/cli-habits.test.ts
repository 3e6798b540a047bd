/**
 * The CLI's habits, judged as a user sees them: bin/testbed.js spawned with each bad flag gets one
 * line saying what to change and exit status 2; --version; doctor without raw escape codes in a
 * pipe; demo's verdict first and its tshark line; energy's named rows with units. Every spawn is
 * bounded by a timeout (a hang fails the test instead of stalling the suite).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { colourWanted, plainText } from './terminal-colour.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

interface Ran { status: number | null; stdout: string; stderr: string }

function testbed(args: string[], o: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Ran {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/testbed.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: o.timeoutMs ?? 30_000,
    killSignal: 'SIGKILL',
    env: { ...process.env, ...o.env },
  });
  assert.equal(r.error, undefined, `testbed ${args.join(' ')} did not finish: ${String(r.error)}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A refused command line: exit 2, and the first stderr line names the command and what to change. */
function assertRefused(args: string[], says: RegExp): void {
  const r = testbed(args);
  assert.equal(r.status, 2, `testbed ${args.join(' ')}: exit ${r.status}, stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.ok(lines.length <= 2, `testbed ${args.join(' ')}: ${lines.length} lines on stderr (one, then at most the usage):\n${r.stderr}`);
  assert.match(lines[0] ?? '', says);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'a stack trace was printed');
  if (lines[1] !== undefined) assert.match(lines[1], /^usage: testbed /);
}

test('--version and -V print the package version', () => {
  for (const flag of ['--version', '-V']) {
    const r = testbed([flag]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim(), `iot-e3e4-testbed ${VERSION}`);
  }
});

test('pki refuses /proc, /sys, a file as parent and bad values up front, with exit 2 (it used to spin forever under /proc)', () => {
  assertRefused(['pki', '--out', '/proc/x'], /^testbed pki: --out: \/proc\/x is on procfs, .*choose a directory/);
  assertRefused(['pki', '--out', '/sys/x'], /^testbed pki: --out: \/sys\/x is on sysfs/);
  assertRefused(['pki', '--out', join(ROOT, 'package.json', 'x')], /package\.json is not a directory, so .* cannot be created under it/);
  assertRefused(['pki'], /^testbed pki: --out DIR is required/);
  assertRefused(['pki', '--out', '/tmp/x', '--wearables', 'many'], /--wearables must be a whole number 1\.\.5000, got "many"/);
  assertRefused(['pki', '--outdir', '/tmp/x'], /^testbed pki: unknown option --outdir: its options are --out, --wearables, --algorithm/);
});

test('pki refuses a directory whose parent this user cannot write', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tb-pki-ro-'));
  const readOnly = join(dir, 'read-only');
  mkdirSync(readOnly, { mode: 0o555 });
  let mounted = false;
  try {
    if (process.getuid?.() === 0) {
      // Root writes through mode bits, but not into a read-only mount (EROFS). The CLI runs as
      // root here rather than as `nobody`, who may not read the clone at all (a 0700 checkout).
      const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', readOnly], { encoding: 'utf8', timeout: 10_000 });
      if (m.status !== 0) return t.skip(`root writes through a 0555 directory and a read-only tmpfs could not be mounted here: ${m.stderr.trim()}`);
      mounted = true;
    }
    assertRefused(['pki', '--out', join(readOnly, 'pki')], /read-only is not writable by this user, so .* cannot be created in it/);
  } finally {
    if (mounted) spawnSync('umount', [readOnly], { timeout: 10_000 });
    rmSync(dir, { recursive: true, force: true });
  }
});

test('doctor prints no escape codes into a pipe, and refuses flags it does not take', () => {
  const r = testbed(['doctor'], { timeoutMs: 120_000 });
  assert.ok(r.status === 0 || r.status === 1, `doctor exited ${r.status}`);
  assert.ok(!r.stdout.includes('\u001b'), `doctor wrote escape codes into a pipe:\n${JSON.stringify(r.stdout)}`);
  assert.match(r.stdout, /^(ok {5}|MISSING) tshark /m);
  assertRefused(['doctor', '--fix'], /^testbed doctor: unknown option --fix: it takes no options/);
});

test('colour only on a terminal, never with NO_COLOR; other tools\' escape codes are stripped', () => {
  assert.equal(colourWanted({ isTTY: true }, {}), true);
  assert.equal(colourWanted({ isTTY: false }, {}), false);
  assert.equal(colourWanted({}, {}), false);
  assert.equal(colourWanted({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(colourWanted({ isTTY: true }, { NO_COLOR: '' }), true, 'NO_COLOR counts only when non-empty (no-color.org)');
  assert.equal(plainText('\u001b[1;34m\t\t2.0.7\u001b[0m'), '2.0.7'); // sslscan's --version
});

test('energy prints named rows with units in one number format, and refuses bad flags with exit 2', () => {
  const r = testbed(['energy', '--profile', 'nrf52840']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ {2}per reading: +34\.1 µJ$/m);
  assert.match(r.stdout, /^ {2}per day: +98\.2 mJ$/m);
  assert.match(r.stdout, /^ {2}battery life \(radio \+ crypto\): +~27,130 days$/m);
  const esp = testbed(['energy', '--profile', 'esp32', '--rtt', '50']);
  assert.match(esp.stdout, /^ {2}TLS 1\.3 full handshake \(1 round trip\): +72 ms, 38\.02 mJ ≈ 760 AES-GCM messages$/m);
  for (const out of [r.stdout, esp.stdout]) {
    assert.doesNotMatch(out, /\b[a-z]{2,}(?:[A-Z][a-z]+)+\b/, 'a camelCase field name was printed');
    for (const line of out.split('\n').filter((l) => /^ {2}[^(]/.test(l))) {
      assert.match(line, /^ {2}[A-Za-z0-9 .()+-]+: +\S/, `not a "name: value" row: ${line}`);
      assert.match(line, /\d(,\d{3})*(\.\d{1,2})? (µJ|mJ|J|V|mA|ms|mAh|s|readings|days|%)(?=$|[ ,)])/, `no number with a unit: ${line}`);
    }
  }
  assertRefused(['energy'], /^testbed energy: --profile is required \(one of esp32, nrf52840\)/);
  assertRefused(['energy', '--profile', 'arduino'], /^testbed energy: --profile: unknown device profile "arduino"; profiles: esp32, nrf52840$/);
  assertRefused(['energy', '--profile', 'esp32', '--rtt', 'fast'], /--rtt must be a number of milliseconds in 0\.\.10000, got "fast"/);
});

test('run refuses an unknown topology or profile with exit 2, before Cucumber loads anything', () => {
  assertRefused(['run', '--topology', 'nope'], /^testbed run: --topology must be one of local, containers, swarm, got "nope"/);
  assertRefused(['run', '--profile', 'nope', '--dry-run'], /^testbed run: --profile must be default or ci, got "nope"/);
});

test('demo refuses a missing attack, an unknown attack, case, client or flag, with exit 2', () => {
  assertRefused(['demo'], /^testbed demo: name the attack to demonstrate \(attacks: mitm\)/);
  assertRefused(['demo', 'dos'], /^testbed demo: unknown attack "dos"; attacks: mitm/);
  assertRefused(['demo', 'mitm', '--cert', 'forged'], /^testbed demo: --cert: unknown forged certificate "forged"; valid cases: self-signed, /);
  assertRefused(['demo', 'mitm', '--client', 'curl'], /^testbed demo: --client: unknown client "curl"; valid clients: /);
  assertRefused(['demo', 'mitm', '--loud'], /^testbed demo: unknown option --loud: its options are --cert, --client, --verbose/);
});

test('demo prints the verdict first, the tshark line with the real port, both decode-as options and the key log, and the client transcript only with --verbose', () => {
  const quiet = testbed(['demo', 'mitm', '--cert', 'self-signed', '--client', 'openssl-s_client'], { timeoutMs: 120_000 });
  assert.equal(quiet.status, 0, quiet.stderr);
  const first = quiet.stdout.split('\n')[0] ?? '';
  assert.match(first, /^INTERCEPTED: the "openssl-s_client" client accepted the "self-signed" certificate/);
  const tshark = /^ {2}tshark: +(tshark -r (\S+) -o tls\.keylog_file:(\S+) -d tcp\.port==(\d+),tls -d tls\.port==(\d+),mqtt)$/m.exec(quiet.stdout);
  assert.ok(tshark, `no complete tshark line in:\n${quiet.stdout}`);
  const [, , capture, keyLog, port, tlsPort] = tshark;
  assert.equal(tlsPort, port, 'both decode-as options name the same port');
  assert.match(quiet.stdout, new RegExp(`intercepting on 127\\.0\\.0\\.1:${port} `), 'the decode-as port is the one the attacker listened on');
  assert.match(quiet.stdout, new RegExp(`^ {2}key log: ${keyLog}$`, 'm'));
  assert.ok(readFileSync(String(keyLog), 'utf8').includes('CLIENT_TRAFFIC_SECRET_0'), 'the key log holds the session secrets');
  assert.ok(readFileSync(String(capture)).length > 24, 'the capture holds packets');
  assert.doesNotMatch(quiet.stdout, /what the client printed/);
  assert.match(quiet.stdout, /add --verbose/);

  const verbose = testbed(['demo', 'mitm', '--cert', 'unknown-ca', '--client', 'openssl-s_client', '--verbose'], { timeoutMs: 120_000 });
  assert.equal(verbose.status, 0, verbose.stderr);
  assert.match(verbose.stdout.split('\n')[0] ?? '', /^(INTERCEPTED|BLOCKED): /);
  assert.match(verbose.stdout, /what the client printed:\n {2}\S/);
});
