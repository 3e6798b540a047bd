import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkClientName, checkForgedCaseName, matrixClientNames } from './mitm-rig.ts';

test('unknown forged-certificate names and clients fail with the list of valid names', () => {
  assert.throws(() => checkForgedCaseName('expird'), (e: Error) => /unknown forged certificate "expird"/.test(e.message) && /self-signed/.test(e.message) && /revoked/.test(e.message));
  assert.throws(() => checkClientName('curl'), (e: Error) => /unknown client "curl"/.test(e.message) && matrixClientNames().every((n) => e.message.includes(n)));
  assert.equal(checkForgedCaseName('expired'), 'expired');
  assert.ok(matrixClientNames().length >= 6, 'the issue asks for at least 6 client profiles');
});
