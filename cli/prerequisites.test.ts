import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCi, skipForMissingTool } from './prerequisites.ts';

test('only CI=true or CI=1 (any case) is CI; CI=false, CI=0, empty or unset is not', () => {
  for (const value of ['true', 'TRUE', 'True', '1', ' true ']) assert.equal(isCi({ CI: value }), true, `CI=${value}`);
  for (const value of ['false', 'FALSE', '0', '', 'no', 'yes-please']) assert.equal(isCi({ CI: value }), false, `CI=${value}`);
  assert.equal(isCi({}), false, 'CI unset');
});

test('a missing tool is a skip reason on a developer machine and a failure in CI', () => {
  assert.equal(skipForMissingTool('tshark is not installed', { CI: 'false' }), 'tshark is not installed');
  assert.throws(() => skipForMissingTool('tshark is not installed', { CI: 'true' }), /^Error: CI: tshark is not installed/);
});
