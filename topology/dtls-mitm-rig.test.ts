import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeAckDatagram } from '../emulators/dtls/reading-datagram.ts';
import { acksIn, checkDtlsClientName } from './dtls-mitm-rig.ts';

const pseudonym = '00112233445566778899aabbccddeeff';

test('acksIn finds the cloud acknowledgements s_client printed among its text', () => {
  const output = Buffer.concat([Buffer.from('CONNECTED(00000003)\n---\n'), encodeAckDatagram(pseudonym, [7n]), Buffer.from('\nDONE\n'), encodeAckDatagram(pseudonym, [8n, 9n])]);
  assert.deepEqual(acksIn(output, pseudonym), [7n, 8n, 9n]);
  assert.deepEqual(acksIn(output, 'ff'.repeat(16)), [], 'an ack for another pseudonym is not ours');
  assert.deepEqual(acksIn(Buffer.from('no acks here'), pseudonym), []);
});

test('DTLS client names are checked with the valid choices in the error', () => {
  assert.equal(checkDtlsClientName('no-verify'), 'no-verify');
  assert.throws(() => checkDtlsClientName('openssl-strict'), /valid DTLS clients: secure, no-verify, openssl-dtls-strict/);
});
