import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findLeaks, textSecret } from './leak-search.ts';

test('finds a secret inside a larger byte string and names where', () => {
  const secret = textSecret('patient id', 'MRN-04707919');
  const hay = { label: 'gateway records', bytes: new TextEncoder().encode('CONNECT ... MRN-04707919 ...') };
  assert.deepEqual(findLeaks([secret], [hay, { label: 'capture', bytes: new Uint8Array(64) }]), [{ secret: 'patient id', foundIn: 'gateway records' }]);
});

test('reports nothing when the secret is absent', () => {
  assert.deepEqual(findLeaks([textSecret('id', 'MRN-04707919')], [{ label: 'x', bytes: new TextEncoder().encode('MRN-0470791') }]), []);
});

test('refuses secrets too short to search for meaningfully', () => {
  assert.throws(() => findLeaks([textSecret('hr', '72')], []), /at least 8 bytes/);
});
