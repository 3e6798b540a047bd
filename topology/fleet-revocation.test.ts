/**
 * When the capture of a presented certificate may stop (fleet-revocation.ts untilBrokerClosed):
 * only once the broker closed every connection it accepted there. Shaped on the swarm capture
 * where the revoked wearable's own retry was refused first and the presenter's answer came later.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CapturedPacket, TcpFlagSet } from '../capture/pcap-reader.ts';
import { brokerClosedEveryConnection } from './fleet-revocation.ts';

const BROKER = { address: '10.0.9.7', port: 8883 };
const none: TcpFlagSet = { syn: false, ack: false, fin: false, rst: false, psh: false };
let index = 0;

function fromBroker(clientPort: number, flags: Partial<TcpFlagSet>): CapturedPacket {
  return { index: ++index, timestampMicros: BigInt(index), src: BROKER, dst: { address: '10.0.9.3', port: clientPort }, protocol: 'tcp', tcpFlags: { ...none, ...flags }, payload: new Uint8Array(0) };
}

test('the capture waits for the presenter\'s close, not for the refused retry of the revoked wearable beside it', () => {
  const presenter = 56982;
  const retry = 56990;
  const accepted = [fromBroker(presenter, { syn: true, ack: true }), fromBroker(retry, { syn: true, ack: true })];
  assert.equal(brokerClosedEveryConnection([], BROKER.port), false, 'an empty capture has nothing closed yet');
  assert.equal(brokerClosedEveryConnection(accepted, BROKER.port), false);
  const retryRefused = [...accepted, fromBroker(retry, { rst: true, ack: true })];
  assert.equal(brokerClosedEveryConnection(retryRefused, BROKER.port), false, 'the presenter\'s connection is still open');
  assert.equal(brokerClosedEveryConnection([...retryRefused, fromBroker(presenter, { fin: true, ack: true })], BROKER.port), true);
  assert.equal(brokerClosedEveryConnection([...retryRefused, fromBroker(presenter, { fin: true, ack: true })], 1883), false, 'another port accepted nothing');
});
