import { test } from 'node:test';
import assert from 'node:assert/strict';
import { opensslDtlsArgs, sClientDtlsHandshakeCompleted } from './openssl-dtls-client.ts';
import type { ExternalRun } from '../external-clients.ts';

const base = { host: '127.0.0.1', port: 5684, serverName: 'cloud.testbed.local', caFile: 'ca.pem', stdin: new Uint8Array(1), timeoutMs: 1000 };

test('the strict line always carries -dtls1_2, -verify_return_error and the host name check', () => {
  const args = opensslDtlsArgs(base);
  for (const flag of ['-dtls1_2', '-verify_return_error', '-nocommands']) assert.ok(args.includes(flag), flag);
  assert.equal(args[args.indexOf('-verify_hostname') + 1], 'cloud.testbed.local');
  assert.equal(args[args.indexOf('-servername') + 1], 'cloud.testbed.local');
  assert.ok(!args.includes('-cert') && !args.includes('-crl_check'));
});

test('client certificate and CRL are passed as OpenSSL 3.0 spells them (-CRL, not -CRLfile)', () => {
  const args = opensslDtlsArgs({ ...base, certFile: 'c.pem', keyFile: 'c.key', crlFile: 'i.crl' });
  assert.equal(args[args.indexOf('-cert') + 1], 'c.pem');
  assert.equal(args[args.indexOf('-key') + 1], 'c.key');
  assert.equal(args[args.indexOf('-CRL') + 1], 'i.crl');
  assert.ok(args.includes('-crl_check'));
  assert.throws(() => opensslDtlsArgs({ ...base, certFile: 'c.pem' }), /certFile and keyFile go together/);
});

test('a handshake counts as completed only when s_client names a cipher', () => {
  const run = (stdout: string): ExternalRun => ({ command: 'openssl', exitCode: 0, signal: null, stdout, stderr: '', timedOut: false });
  assert.equal(sClientDtlsHandshakeCompleted(run('---\nNew, TLSv1.2, Cipher is ECDHE-ECDSA-AES256-GCM-SHA384\n')), true);
  assert.equal(sClientDtlsHandshakeCompleted(run('---\nNew, (NONE), Cipher is (NONE)\n')), false);
  assert.equal(sClientDtlsHandshakeCompleted(run('')), false);
});
