/**
 * DTLS 1.2 resumption measured on the wire (features/session-resumption.feature, @dtls): the
 * device-side capture of a delaying UDP link, read by analysis/dtls-handshake.ts, checked
 * against what both bridges report.
 */
import { After, Given, Then, When } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { readPcap, udpFlows } from '../capture/pcap-reader.ts';
import { analyseDtlsFlow, describeDtlsFlights, type DtlsHandshakeAnalysis } from '../analysis/dtls-handshake.ts';
import { dtlsLadderSvg } from '../analysis/ladder-svg.ts';
import { attachSvg } from './attachments.ts';
import { attachEvidenceFiles } from './evidence.ts';
import { DtlsResumptionRig, type DtlsHandshakeEvent, type DtlsResumptionSpec } from '../topology/dtls-resumption-rig.ts';
import { ContainersDtlsResumptionRig } from '../topology/containers-dtls-resumption.ts';
import { currentPlacement } from '../topology/placements.ts';
import type { TestbedWorld } from './world.ts';

interface DtlsResumptionState {
  rttMs: number;
  clientCertificate: boolean;
  /** The local rig or its containers twin: the same handshakes, the capture read by the same steps. */
  rig?: DtlsResumptionSpec;
  events: DtlsHandshakeEvent[];
  analyses?: DtlsHandshakeAnalysis[];
}
const states = new WeakMap<TestbedWorld, DtlsResumptionState>();

function state(world: TestbedWorld): DtlsResumptionState {
  const s = states.get(world);
  if (!s) throw new Error('no DTLS rig declared; start with "Given wearable-0001 speaks DTLS 1.2 over a UDP link …"');
  return s;
}

async function analyses(world: TestbedWorld): Promise<DtlsHandshakeAnalysis[]> {
  const s = state(world);
  if (s.analyses) return s.analyses;
  if (!s.rig) throw new Error('no DTLS handshake was made; add "When wearable-0001 completes a DTLS handshake, closes the connection and handshakes again"');
  const path = await s.rig.stop();
  const pcap = readPcap(path);
  assert.deepEqual(pcap.problems, [], `capture ${path} is damaged`);
  s.analyses = udpFlows(pcap.packets).map(analyseDtlsFlow);
  s.analyses.forEach((a, i) => world.attach(describeDtlsFlights(a).join('\n'), { mediaType: 'text/plain', fileName: `dtls-flights-${i + 1}.txt` }));
  s.analyses.forEach((a, i) => attachSvg(world, dtlsLadderSvg(`Handshake ${i + 1}: DTLS 1.2 ${a.kind} over a ${s.rttMs} ms RTT link`, a), `dtls-ladder-${i + 1}.svg`));
  attachEvidenceFiles(world, world.dir, { captures: [{ path }], keyLog: s.rig.keyLogPath });
  for (const a of s.analyses) assert.deepEqual(a.problems, [], `the capture of ${a.client.address}:${a.client.port} is not a clean handshake:\n${describeDtlsFlights(a).join('\n')}`);
  return s.analyses;
}

// Tagged: only these scenarios have the rig; an untagged hook is a step in every scenario's report (cli/step-hook-tags.test.ts).
After({ tags: '@resumption' }, async function (this: TestbedWorld) {
  await states.get(this)?.rig?.stop();
});

Given("{device} speaks DTLS 1.2 over a UDP link with a {int} ms round trip to the cloud's DTLS endpoint, {word} a client certificate, and both ends keep DTLS sessions", function (this: TestbedWorld, _device: string, rttMs: number, withOrWithout: string) {
  if (withOrWithout !== 'with' && withOrWithout !== 'without') throw new Error(`say "with a client certificate" or "without a client certificate", not "${withOrWithout}"`);
  states.set(this, { rttMs, clientCertificate: withOrWithout === 'with', events: [] });
});

When('{device} completes a DTLS handshake, closes the connection and handshakes again', async function (this: TestbedWorld, _device: string) {
  const s = state(this);
  const Rig = currentPlacement().name === 'containers' ? ContainersDtlsResumptionRig : DtlsResumptionRig;
  s.rig = new Rig({ dir: this.dir, rttMs: s.rttMs, clientCertificate: s.clientCertificate });
  await s.rig.start();
  for (let i = 0; i < 2; i++) {
    s.events.push(await s.rig.handshake());
    // Let the first connection's last flight land before the next handshake starts.
    await new Promise((r) => setTimeout(r, 2 * s.rttMs + 50));
  }
});

function nth(list: DtlsHandshakeAnalysis[], n: number): DtlsHandshakeAnalysis {
  const a = list[n - 1];
  if (!a) throw new Error(`the capture holds ${list.length} DTLS flow(s); there is no handshake ${n}`);
  return a;
}

Then('the capture shows a full DTLS 1.2 handshake with a HelloVerifyRequest cookie exchange, then a resumed one without it', async function (this: TestbedWorld) {
  const list = await analyses(this);
  assert.equal(list.length, 2, `expected 2 DTLS flows, found ${list.length}`);
  const [full, resumed] = [nth(list, 1), nth(list, 2)];
  assert.equal(full.kind, 'full', describeDtlsFlights(full).join('\n'));
  assert.equal(full.helloVerifyRequest, true, `no cookie exchange in the full handshake:\n${describeDtlsFlights(full).join('\n')}`);
  assert.equal(resumed.kind, 'resumed', describeDtlsFlights(resumed).join('\n'));
  // RFC 6347 §4.2.1: "The server MAY choose not to do a cookie exchange when a session is resumed" — pion does not.
  assert.equal(resumed.helloVerifyRequest, false, `the resumed handshake had a cookie exchange:\n${describeDtlsFlights(resumed).join('\n')}`);
});

Then('the capture shows two full DTLS 1.2 handshakes, each with a HelloVerifyRequest cookie exchange', async function (this: TestbedWorld) {
  const list = await analyses(this);
  assert.equal(list.length, 2, `expected 2 DTLS flows, found ${list.length}`);
  for (const a of list) {
    assert.equal(a.kind, 'full', describeDtlsFlights(a).join('\n'));
    assert.equal(a.helloVerifyRequest, true, describeDtlsFlights(a).join('\n'));
  }
});

Then('the capture counts {int} round trips for the first DTLS handshake and {int} for the second', async function (this: TestbedWorld, first: number, second: number) {
  const list = await analyses(this);
  const measured = list.map((a) => a.roundTrips);
  this.attach(`round trips until the server's Finished: ${measured.join(', ')}`, { mediaType: 'text/plain' });
  assert.deepEqual(measured, [first, second], `measured round trips ${measured.join(', ')}`);
});

// No ceiling in milliseconds: a busy machine may add any delay. What the capture proves is the
// floor — each counted round trip (a device flight answered by a cloud flight) spans the link's
// delay — and, within this run, that fewer round trips finish sooner.
Then('each DTLS handshake took at least its round trips × {int} ms on the wire, each counted round trip spanning the link\'s delay', async function (this: TestbedWorld, rttMs: number) {
  const list = await analyses(this);
  const lines: string[] = [];
  for (const [i, a] of list.entries()) {
    const ms = a.handshakeMs as number;
    const spans = roundTripSpans(a).slice(0, a.roundTrips ?? 0);
    lines.push(`handshake ${i + 1}: ${a.kind}, ${String(a.roundTrips)} round trips, ${ms.toFixed(1)} ms on the wire (bridge: ${String(state(this).events[i]?.durationMs)} ms); round trips ${spans.map((x) => `${x.toFixed(1)} ms`).join(', ')}`);
    assert.ok(ms >= (a.roundTrips as number) * rttMs - 1, `handshake ${i + 1} finished in ${ms} ms, under its ${String(a.roundTrips)} × ${rttMs} ms: the link did not delay it`);
    spans.forEach((span, r) => assert.ok(span >= rttMs - 1, `round trip ${r + 1} of handshake ${i + 1} was answered after ${span.toFixed(1)} ms, sooner than the link's ${rttMs} ms round trip`));
  }
  this.attach(lines.join('\n'), { mediaType: 'text/plain', fileName: 'dtls-handshake-times.txt' });
});

Then('the resumed DTLS handshake finished sooner than the full one, in this run', async function (this: TestbedWorld) {
  const [full, resumed] = [nth(await analyses(this), 1), nth(await analyses(this), 2)];
  assert.ok((resumed.roundTrips as number) < (full.roundTrips as number), `the resumed handshake took ${String(resumed.roundTrips)} round trips, the full one ${String(full.roundTrips)}`);
  assert.ok((resumed.handshakeMs as number) < (full.handshakeMs as number), `the resumed handshake took ${String(resumed.handshakeMs)} ms on the wire, the full one ${String(full.handshakeMs)} ms`);
});

/** Milliseconds from each device flight to the cloud flight that answered it, in capture order. */
function roundTripSpans(a: DtlsHandshakeAnalysis): number[] {
  const spans: number[] = [];
  a.flights.forEach((f, i) => {
    const reply = a.flights[i + 1];
    if (f.direction === 'client-to-server' && reply?.direction === 'server-to-client') spans.push(Number(reply.startMicros - f.startMicros) / 1000);
  });
  return spans;
}

Then('the resumed DTLS handshake carries no certificate and at least {int} % fewer server bytes', async function (this: TestbedWorld, percent: number) {
  const [full, resumed] = [nth(await analyses(this), 1), nth(await analyses(this), 2)];
  assert.equal(resumed.serverCertificateInClear, false, 'the resumed handshake carried a certificate');
  const saving = 1 - resumed.handshakeBytes.serverToClient / full.handshakeBytes.serverToClient;
  this.attach(`server handshake bytes: full ${full.handshakeBytes.serverToClient}, resumed ${resumed.handshakeBytes.serverToClient} (${(saving * 100).toFixed(1)} % fewer)`, { mediaType: 'text/plain' });
  assert.ok(saving * 100 >= percent, `the resumed handshake saved only ${(saving * 100).toFixed(1)} % of the server's bytes`);
});

Then("the device's DTLS bridge reports the second handshake as {word}", function (this: TestbedWorld, verb: string) {
  const events = state(this).events;
  const [first, second] = events;
  assert.ok(first && second, `${events.length} handshake(s) reported`);
  assert.equal(first.resumed, false, 'the first handshake claims resumption');
  if (verb === 'resumed') {
    assert.equal(second.resumed, true, 'the device bridge reports a full second handshake');
    assert.equal(second.sessionId, first.sessionId, 'the second handshake has another session ID');
  } else if (verb === 'full') {
    assert.equal(second.resumed, false, 'the device bridge reports a resumed second handshake');
  } else {
    throw new Error(`say "resumed" or "full", not "${verb}"`);
  }
});
