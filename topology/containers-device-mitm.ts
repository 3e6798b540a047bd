/**
 * A MITM on the device link in the containers placement (`testbed up --mitm device-gateway:CASE`):
 * the MITM container (containers/roles/mitm-proxy.ts) joins the device network, the wearables are
 * pointed at it, and it presents a certificate forged for the gateway's name. It connects onward to
 * the real gateway as a TLS client with a device identity it stole (the gateway asks every client
 * for a certificate), so a client that accepts the forgery is relayed into the testbed.
 *
 *   wearables ──▶ mitm.gateway.testbed.local:8883 (forged "gateway.testbed.local") ──▶ gateway.testbed.local:8883
 */
import { forgeCertificate } from '../certs/forged-catalogue.ts';
import type { Pki } from '../certs/pki.ts';
import { MitmProxyContainer, type StartedMitmProxyContainer } from '../containers/mitm-proxy-container.ts';
import type { RoleMounts } from '../containers/node-role-container.ts';
import type { Endpoint } from '../containers/role-config.ts';

export const DEVICE_GATEWAY_MITM_NAME = 'mitm.gateway.testbed.local';

export interface DeviceGatewayMitmOptions {
  readonly image: string;
  readonly runId: string;
  readonly deviceNetwork: string;
  readonly mounts: RoleMounts;
  /** The run's genuine PKI: the forgery is made against it. */
  readonly pki: Pki;
  /** The testbed CA bundle (PEM) the MITM verifies the real gateway with. */
  readonly caBundlePem: string;
  /** The real gateway, as the wearables would have reached it. */
  readonly gateway: Endpoint;
  readonly forgedCase: string;
  /** The stolen device identity the MITM presents to the gateway (PEM). */
  readonly device: { readonly certChainPem: string; readonly keyPem: string };
}

/** Start and arm the MITM; returns it and the endpoint the wearables must use instead of the gateway. */
export async function startDeviceGatewayMitm(o: DeviceGatewayMitmOptions): Promise<{ mitm: StartedMitmProxyContainer; endpoint: Endpoint }> {
  const forged = await forgeCertificate(o.forgedCase, { pki: o.pki, serverName: o.gateway.serverName });
  const mitm = await new MitmProxyContainer(o.image).withRun(o.runId).withInternalNetwork(o.deviceNetwork, DEVICE_GATEWAY_MITM_NAME).withMounts(o.mounts).start();
  await mitm.arm({
    // The scenario's evidence directory is the mount itself: its key log joins the others in keylogs/.
    dir: '.',
    presents: { name: forged.name, explain: forged.explain, certChainPem: forged.certChainPem, keyPem: forged.keyPem, legacySecurityLevel: forged.needsLegacySecurityLevel },
    upstream: { host: o.gateway.host, port: o.gateway.port, serverName: o.gateway.serverName, caPem: o.caBundlePem, certChainPem: o.device.certChainPem, keyPem: o.device.keyPem },
  });
  // The wearables still ask for the gateway's name: only the address is the attacker's.
  return { mitm, endpoint: { host: DEVICE_GATEWAY_MITM_NAME, port: MitmProxyContainer.LISTEN_PORT, serverName: o.gateway.serverName } };
}
