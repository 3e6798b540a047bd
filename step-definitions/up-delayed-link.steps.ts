/**
 * A delayed device link under `testbed up --impair latency:ms=N` (features/external-peers.feature),
 * judged from the device link's own capture: every round trip of the wearable's handshake, TCP's
 * SYN → SYN-ACK first, spans at least the two one-way delays (RFC 9293 §3.5 for the three-way
 * handshake; RFC 8446 §2 for TLS 1.3's one round trip before application data).
 */
import { Then } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import type { TestbedWorld } from './world.ts';
import { runningUp } from './external-peers.steps.ts';
import { readPcap } from '../capture/pcap-reader.ts';
import { analyseCapture, type HandshakeAnalysis } from '../analysis/handshake-analyser.ts';

const millis = (start: bigint, end: bigint) => Number(end - start) / 1000;

function describe(h: HandshakeAnalysis): string {
  return h.roundTrips.map((r) => `${r.layer} ${r.summary}: ${millis(r.startMicros, r.answerMicros).toFixed(1)} ms`).join('; ');
}

Then("in the device link's capture every round trip of the wearable's handshake takes at least {int} ms, TCP's SYN → SYN-ACK included", function (this: TestbedWorld, atLeastMs: number) {
  const graph = runningUp(this);
  const capture = graph.links.find((l) => l.name === 'device-gateway')?.capture;
  assert.ok(capture, 'the graph has no captured device-gateway link');
  const handshakes = analyseCapture(readPcap(capture).packets).filter((h) => h.roundTripsToFirstApplicationByte !== undefined);
  assert.ok(handshakes.length > 0, `the device-link capture ${capture} holds no TLS handshake that reached application data: did the wearable connect through the link?`);
  for (const h of handshakes) {
    this.attach(`${h.client.address}:${h.client.port} → ${h.server.address}:${h.server.port}: ${describe(h)}`, { mediaType: 'text/plain', fileName: 'device-link-round-trips.txt' });
    assert.ok(h.roundTrips.some((r) => r.layer === 'tcp'), `the device-link capture ${capture} lacks the SYN or the SYN-ACK of ${h.client.address}:${h.client.port}; the link's TCP handshake cannot be judged`);
    const short = h.roundTrips.filter((r) => millis(r.startMicros, r.answerMicros) < atLeastMs);
    assert.equal(short.length, 0, `round trip(s) shorter than ${atLeastMs} ms on the delayed device link (${describe(h)}): the link did not hold them by its delay each way`);
  }
});
