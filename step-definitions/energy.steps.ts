/**
 * Steps of the energy model: the source chapter's worked examples recomputed from the figures
 * table, and the `testbed energy` command as an analyst runs it.
 */
import { Given, Then, When } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { deviceProfile, handshakeCost, readingBudget, round, type DeviceProfile, type HandshakeCost } from '../emulators/energy-model.ts';

interface EnergyState {
  profile?: DeviceProfile;
  handshake?: HandshakeCost;
  command?: { code: number; output: string };
}
const states = new WeakMap<object, EnergyState>();
const state = (world: object): EnergyState => {
  let s = states.get(world);
  if (!s) states.set(world, (s = {}));
  return s;
};
const profileOf = (world: object): DeviceProfile => {
  const p = state(world).profile;
  if (!p) throw new Error('no device profile yet; start with a step like: Given the "nrf52840" device profile');
  return p;
};
/** "2,880" → 2880 */
const num = (text: string): number => Number(text.replace(/,/g, ''));

Given('the {string} device profile', function (this: object, name: string) {
  state(this).profile = deviceProfile(name);
});

// Every Then below compares what the model derives with the chapter's figure; none reads the
// profile's table (an input echoed back could never fail).
Then('one reading costs {float} µJ, {float} µJ of it for E3 and record-layer encryption', function (this: object, total: number, encryption: number) {
  const b = readingBudget(profileOf(this));
  assert.equal(round(b.perReadingMicrojoules), total, `the model derives ${b.perReadingMicrojoules} µJ per reading`);
  assert.equal(round(b.perReadingMicrojoules * b.encryptionShare), encryption, `the model derives ${b.perReadingMicrojoules * b.encryptionShare} µJ of encryption per reading`);
});

Then('{word} readings a day cost {float} mJ', function (this: object, readings: string, mj: number) {
  const b = readingBudget(profileOf(this));
  assert.equal(b.readingsPerDay, num(readings), `the model derives ${b.readingsPerDay} readings a day from the reporting interval`);
  assert.equal(round(b.dailyMillijoules), mj, `the model derives ${b.dailyMillijoules} mJ a day`);
});

Then('a {word} J battery lasts about {word} days on transmission and encryption alone', function (this: object, joules: string, days: string) {
  const b = readingBudget(profileOf(this));
  assert.equal(round(b.batteryJoules, 3), num(joules), `the model derives a ${b.batteryJoules} J battery from its mAh and volts`);
  // The chapter rounds to tens of days ("~27,130").
  assert.equal(Math.round(b.batteryDays / 10) * 10, num(days), `the model derives ${b.batteryDays} days`);
});

Then('encryption is about {int} % of the energy per reading', function (this: object, percent: number) {
  const share = readingBudget(profileOf(this)).encryptionShare;
  assert.equal(Math.round(share * 100), percent, `the model derives ${(share * 100).toFixed(2)} % for encryption`);
});

When('it makes a full TLS 1.3 handshake of {int} round trip(s) at {int} ms RTT', function (this: object, rtts: number, rtt: number) {
  state(this).handshake = handshakeCost(profileOf(this), 'tls13-full', rtts, rtt);
});

Then('the handshake takes {int} ms and about {int} mJ', function (this: object, ms: number, mj: number) {
  const h = state(this).handshake;
  assert.ok(h, 'no handshake computed yet');
  assert.equal(h.totalMs, ms, `the model derives ${h.networkMs} ms on the wire + ${h.cryptoMs} ms crypto = ${h.totalMs} ms`);
  assert.equal(Math.round(h.millijoules), mj, `the model derives ${h.millijoules} mJ`);
});

Then('that is the energy of about {int} AES-GCM messages', function (this: object, messages: number) {
  const h = state(this).handshake;
  assert.ok(h, 'no handshake computed yet');
  assert.equal(Math.round(h.messagesWorth), messages, `the model derives ${h.messagesWorth} messages`);
});

When('an analyst runs {string}', async function (this: object, commandLine: string) {
  const [program, ...args] = commandLine.split(/\s+/);
  if (program !== 'testbed') throw new Error(`only testbed commands run here, got "${program}"`);
  state(this).command = await new Promise((resolve) => {
    execFile(process.execPath, ['bin/testbed.js', ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
});

Then('the output shows {string}, {string} and {string}', function (this: object, a: string, b: string, c: string) {
  const run = state(this).command;
  assert.ok(run, 'no command was run');
  assert.equal(run.code, 0, run.output);
  for (const s of [a, b, c]) assert.ok(run.output.includes(s), `"${s}" is not in the output:\n${run.output}`);
});

Then('the command fails saying {string}', function (this: object, message: string) {
  const run = state(this).command;
  assert.ok(run, 'no command was run');
  assert.notEqual(run.code, 0, 'the command succeeded');
  assert.ok(run.output.includes(message), `"${message}" is not in the output:\n${run.output}`);
});
