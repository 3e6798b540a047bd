/**
 * A MITM on the gateway→cloud link in the containers placement (features/mitm-gateway-cloud.feature):
 * the MITM container (containers/roles/mitm-proxy.ts) joins the cloud network, the gateway's
 * upstream is pointed at it, and it presents a forged certificate for the cloud's name. With the
 * gateway's stolen identity it relays every byte into the real cloud (Mosquitto), which admits it
 * as the gateway (mutual TLS, certificate CN as username); without, it impersonates the broker.
 *
 *   gateway ──▶ mitm.cloud.testbed.local:8883 (forged "cloud.testbed.local") ──▶ cloud.testbed.local:8883 (Mosquitto)
 */
import { forgeCertificate } from '../certs/forged-catalogue.ts';
import type { Pki } from '../certs/pki.ts';
import { MitmProxyContainer, type StartedMitmProxyContainer } from '../containers/mitm-proxy-container.ts';
import type { RoleMounts } from '../containers/node-role-container.ts';
import type { Endpoint } from '../containers/role-config.ts';
import type { GatewayCloudMitm } from './topology.ts';

export const GATEWAY_CLOUD_MITM_NAME = 'mitm.cloud.testbed.local';

export interface GatewayCloudMitmOptions {
  readonly image: string;
  readonly runId: string;
  readonly cloudNetwork: string;
  readonly mounts: RoleMounts;
  /** The run's genuine PKI: the forgery is made against it, and the stolen identity is its gateway's. */
  readonly pki: Pki;
  /** The testbed CA bundle (PEM) the relay verifies the real cloud with. */
  readonly caBundlePem: string;
  /** The real cloud, as the gateway would have reached it. */
  readonly cloud: Endpoint;
  readonly spec: GatewayCloudMitm;
}

/** Start and arm the MITM; returns it and the endpoint the gateway's upstream must use instead of the cloud. */
export async function startGatewayCloudMitm(o: GatewayCloudMitmOptions): Promise<{ mitm: StartedMitmProxyContainer; endpoint: Endpoint }> {
  const forged = await forgeCertificate(o.spec.forgedCase, { pki: o.pki, serverName: o.cloud.serverName });
  const mitm = await new MitmProxyContainer(o.image).withRun(o.runId).withInternalNetwork(o.cloudNetwork, GATEWAY_CLOUD_MITM_NAME).withMounts(o.mounts).start();
  await mitm.arm({
    // The scenario's evidence directory is the mount itself: its key log joins the others in keylogs/.
    dir: '.',
    presents: { name: forged.name, explain: forged.explain, certChainPem: forged.certChainPem, keyPem: forged.keyPem, legacySecurityLevel: forged.needsLegacySecurityLevel },
    ...(o.spec.stolenGatewayIdentity
      ? { upstream: { host: o.cloud.host, port: o.cloud.port, serverName: o.cloud.serverName, caPem: o.caBundlePem, certChainPem: o.pki.gateway.chainPem, keyPem: o.pki.gateway.keyPem } }
      : {}),
  });
  // The gateway still asks for the cloud's name: only the address is the attacker's.
  return { mitm, endpoint: { host: GATEWAY_CLOUD_MITM_NAME, port: MitmProxyContainer.LISTEN_PORT, serverName: o.cloud.serverName } };
}
