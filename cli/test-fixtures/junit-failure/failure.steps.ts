// Steps of the JUnit failure fixture (cli/junit-readable.test.ts): a step fails, then an After
// hook fails behind it, as a topology whose start failed once did (ENOENT on its key log).
import { After, Given, Then } from '@cucumber/cucumber';
import { readFileSync } from 'node:fs';

Given('the {string} client meets a MITM presenting {string}', function (_client: string, _forged: string) {});

Then('the interception is reported as {string}', function (result: string) {
  if (result !== 'blocked') throw new Error(`the secure client completed its handshake with the MITM (expected ${result})`);
});

After(function ({ result }) {
  if (result?.status === 'FAILED') readFileSync('/nonexistent-testbed-fixture/sslkeylog.txt');
});
