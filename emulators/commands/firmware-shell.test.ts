import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceState } from './device-state.ts';
import { runFirmwareShell, SHELL_MAX_STATEMENTS } from './firmware-shell.ts';

const files = new Map([['/secure/device.key', 'KEY'], ['/etc/device-id', 'wearable-0001']]);

test('`;` runs every statement, `&&` only after success, `||` only after failure', () => {
  const d = new DeviceState();
  const run = runFirmwareShell('set_temp 22; cat /secure/device.key && reboot || reset', d, files);
  assert.deepEqual(run.statements.map((s) => s.argv[0]), ['set_temp', 'cat', 'reboot']);
  assert.equal(run.output, 'set point 22 °C\nKEY\nrebooting');
  assert.deepEqual(d.status(), { setPointC: 22, resets: 0, reboots: 1, executed: 0 });
});

test('unknown programs are "not found", missing files an error; nothing reaches the host', () => {
  const run = runFirmwareShell('rm -rf /; cat /etc/shadow', new DeviceState(), files);
  assert.deepEqual(run.statements.map((s) => s.status), [127, 1]);
  assert.match(run.output, /sh: rm: not found\ncat: \/etc\/shadow: No such file or directory/);
});

test('bounded: an over-long line runs nothing, and at most 32 statements run', () => {
  const d = new DeviceState();
  assert.equal(runFirmwareShell('reboot;'.repeat(1000), d, files).statements.length, 0);
  assert.equal(runFirmwareShell('reboot;'.repeat(100), d, files).statements.length, SHELL_MAX_STATEMENTS);
  assert.equal(d.status().reboots, SHELL_MAX_STATEMENTS);
});
