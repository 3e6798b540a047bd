/**
 * A delayed device→gateway link in the containers placement (`testbed up --impair latency:ms=N`):
 *
 *   wearables ──(device-link network)──▶ link.testbed.local:8883 (TcpLink relay, N ms each way) ──(device network)──▶ gateway
 *
 * The kernel has no tc netem, so the delay is the relay's (links/tcp-link.ts) for the data and
 * link-delay's NFQUEUE hold for the SYN and the SYN-ACK (containers/roles/tcp-link-relay.ts), as
 * topology/containers-resumption.ts delays its device link. The capture of the device link is
 * taken in the relay's namespace on the device-link network, beside the wearables' side of it.
 */
import type { LinkImpairments } from '../links/impairments.ts';
import { TcpLinkRelayContainer, type StartedTcpLinkRelayContainer } from '../containers/resumption-containers.ts';
import { GatewayContainer } from '../containers/gateway-container.ts';
import type { RoleMounts } from '../containers/node-role-container.ts';
import { GATEWAY_NAME } from '../certs/genuine-profiles.ts';
import { buildLinkDelay } from './containers-resumption.ts';

export const DEVICE_LINK_NAME = 'link.testbed.local';
export const DEVICE_LINK_PORT = TcpLinkRelayContainer.LISTEN_PORT;

/** The one-way delay of a device link the relay can realize: one fixed latency, the same both ways. */
export function oneWayDelayOf(impairments: LinkImpairments): number {
  const ways = [impairments.clientToServer ?? [], impairments.serverToClient ?? []];
  const delays = ways.map((list) => {
    if (list.length !== 1 || list[0]?.kind !== 'latency' || list[0].jitterMs > 0) {
      throw new Error(`topology: the containers relay on the device link realizes one fixed latency each way, got ${list.map((i) => i.kind).join(', ') || 'none'}; use --impair latency:ms=N`);
    }
    return list[0].ms;
  });
  if (delays[0] !== delays[1]) throw new Error(`topology: the containers relay delays both directions alike, got ${delays.join(' ms and ')} ms`);
  return delays[0] as number;
}

export interface DeviceLinkRelayOptions {
  readonly image: string;
  readonly runId: string;
  /** The network the wearables sit on (the relay's listening side). */
  readonly deviceLinkNetwork: string;
  /** The network the gateway listens on. */
  readonly gatewayNetwork: string;
  readonly mounts: RoleMounts;
  readonly oneWayDelayMs: number;
}

/** The relay between the wearables and the gateway, its SYN/SYN-ACK held by link-delay. */
export async function startDeviceLinkRelay(o: DeviceLinkRelayOptions): Promise<StartedTcpLinkRelayContainer> {
  await buildLinkDelay();
  return new TcpLinkRelayContainer(o.image)
    .withRun(o.runId)
    .withInternalNetwork(o.deviceLinkNetwork, DEVICE_LINK_NAME)
    .withMounts(o.mounts)
    .withLinkName('device-gateway')
    .withRoundTripMs(2 * o.oneWayDelayMs)
    .withTarget(GATEWAY_NAME, GatewayContainer.LISTEN_PORT, o.gatewayNetwork)
    .start();
}
