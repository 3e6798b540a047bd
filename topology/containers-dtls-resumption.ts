/**
 * DTLS resumption (recipe dtls-resumption, features/session-resumption.feature @dtls) on the
 * containers placement: the device's bridge client, the emulated link and the cloud's bridge
 * server each in a container of the scenario, on one internal network; a tcpdump sidecar in the
 * device's namespace writes the capture the steps read, as the local link's tap does.
 *
 *   device container ──UDP──▶ device-cloud link container (links/udp-link.ts, RTT/2 each way) ──UDP──▶ cloud.testbed.local:5684
 *     └─ tcpdump sidecar: <scenario>/captures/device-cloud-dtls.pcap
 *
 * The network's MTU is 9000: the cloud's certificate flight goes as one datagram of about 2 kB
 * (SERVER_MTU in dtls-resumption-rig.ts, as on loopback), and at Docker's 1500 the kernel would
 * split it into IP fragments, which the capture reader does not reassemble (and RFC 6347 §4.1.1
 * leaves the datagram size to the sender, so one flight per datagram is a valid wire).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { Tcpdump } from '../capture/tcpdump.ts';
import { docker } from '../containers/docker-cli.ts';
import { cleanUpOnInterrupt, labelArgs, removeRun } from '../containers/run-labels.ts';
import { handBackCapture, startTcpdumpSidecar } from '../containers/tcpdump-sidecar.ts';
import { DTLS_PORT, UDP_LINK_PORT, UdpLinkContainer } from '../containers/dtls-containers.ts';
import { DtlsSessionDeviceContainer, DtlsSessionServerContainer, type StartedDtlsSessionDevice } from '../containers/dtls-session-containers.ts';
import type { StartedRole } from '../containers/dtls-interception-containers.ts';
import { ensureDtlsBridge } from '../emulators/dtls/dtls-bridge-process.ts';
import { ContainersTopology, mergeKeyLogs } from './containers-topology.ts';
import { dtlsResumptionPki, DtlsResumptionSpec, DTLS_CLOUD_NAME, type DtlsHandshakeEvent, type DtlsRigSpec } from './dtls-resumption-rig.ts';
import { DTLS13_OPTIONS_ENV, DTLS_VERSION_ENV } from '../emulators/dtls/dtls-version.ts';
import { resumption } from './recipes.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { containersPlacement, requireRealizable } from './placements.ts';

const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LINK_NAME = 'device-cloud.link.testbed.local';
const JUMBO_MTU = 9000;

interface Running {
  runId: string;
  releaseInterrupt: () => void;
  control: string;
  roles: { stopRole(): Promise<void> }[];
  device?: StartedDtlsSessionDevice;
  server?: StartedRole;
  tcpdump?: Tcpdump;
}

export class ContainersDtlsResumptionRig extends DtlsResumptionSpec {
  #running: Running | undefined;
  #stopped: Promise<string> | undefined;

  constructor(spec: DtlsRigSpec) {
    super({ ...spec, dir: resolve(spec.dir) });
  }

  async start(): Promise<void> {
    requireRealizable(resumption({ broker: containersPlacement.defaultBroker, transport: 'dtls', rttMs: this.rttMs }), containersPlacement);
    const images = await ContainersTopology.prepare();
    // The bridges run from the read-only project mount: build the binary here, where Go is.
    await ensureDtlsBridge();
    const pki = await dtlsResumptionPki(this.dir);
    const runId = `tb-dtlsres-${process.pid}-${randomBytes(4).toString('hex')}`;
    const r: Running = { runId, releaseInterrupt: cleanUpOnInterrupt(runId), control: mkdtempSync('/tmp/tb-ctl-'), roles: [] };
    this.#running = r;
    try {
      const network = `${runId}-device-cloud`;
      // --internal: no route out (docs/architecture.md §8 The graph and its placements); jumbo MTU: see the file's comment.
      await docker(['network', 'create', '--internal', '--opt', `com.docker.network.driver.mtu=${JUMBO_MTU}`, ...labelArgs(runId), network]);
      const { stdout } = await docker(['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', network]);
      const subnet = stdout.trim();
      const mounts = { project: PROJECT_DIR, pki: pki.dir, evidence: this.dir, control: r.control };
      const started = <T extends { stopRole(): Promise<void> }>(role: T): T => {
        r.roles.push(role);
        return role;
      };
      r.server = started(await new DtlsSessionServerContainer(images.gateway).withRun(runId).withInternalNetwork(network, DTLS_CLOUD_NAME).withMounts(mounts).withClientCertificate(this.clientCertificate).start());
      started(await new UdpLinkContainer(images.gateway).withRun(runId).withInternalNetwork(network, LINK_NAME).withMounts(mounts).withLinkName('device-cloud').withTarget(DTLS_CLOUD_NAME, DTLS_PORT).withImpairments(this.link).start() as StartedRole);
      const device = new DtlsSessionDeviceContainer(images.wearable);
      // A container speaks the DTLS version it starts with: the device's own where it differs from the scenario's.
      if (this.deviceVersion) device.withEnvironment({ [DTLS_VERSION_ENV]: this.deviceVersion, [DTLS13_OPTIONS_ENV]: '{}' });
      r.device = started(await device.withSessionStore(this.deviceSessionStore).withRun(runId).withInternalNetwork(network, 'device.testbed.local').withMounts(mounts).withEndpoint(LINK_NAME, UDP_LINK_PORT).withClientCertificate(this.clientCertificate).start());
      // Beside the device, as the local link's tap: the device's datagrams to and from the link.
      // The directory first, 0700 (Docker would make a missing bind source 0755).
      mkdirSync(dirname(this.capturePath), { recursive: true, mode: 0o700 });
      r.tcpdump = await startTcpdumpSidecar({ image: images.tcpdump, runId, target: r.device.getId(), hostDir: dirname(this.capturePath), file: 'device-cloud-dtls.pcap', filter: `udp and net ${subnet}` });
    } catch (err) {
      await this.stop().catch(() => undefined);
      throw new Error(`containers: the DTLS resumption rig did not come up: ${(err as Error).message}; nothing was left running`);
    }
  }

  /** The cloud bridge's own events (handshakes with their early-data counts), from its container. */
  async serverEvents(): Promise<readonly Observation[]> {
    const server = this.#running?.server;
    if (!server) throw new Error('containers-dtls-resumption: not started');
    return server.control.call('GET', '/observations');
  }

  /** One datagram through the device's current connection. */
  async send(payload: Uint8Array): Promise<void> {
    const device = this.#running?.device;
    if (!device) throw new Error('containers-dtls-resumption: not started');
    await device.send(payload);
  }

  handshake(timeoutMs = 10_000, earlyData?: Uint8Array): Promise<DtlsHandshakeEvent> {
    const device = this.#running?.device;
    if (!device) throw new Error('containers-dtls-resumption: not started');
    return device.handshake(timeoutMs, earlyData);
  }

  /** Stop the capture and every container (once; later calls return the same path); returns the capture's path. */
  stop(): Promise<string> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<string> {
    const r = this.#running;
    if (!r) return this.capturePath;
    try {
      if (r.tcpdump) {
        await r.tcpdump.stop();
        if (existsSync(this.capturePath)) handBackCapture(this.capturePath);
      }
      await Promise.all(r.roles.map((role) => role.stopRole().catch(() => undefined)));
    } finally {
      await removeRun(r.runId).catch(() => undefined);
      r.releaseInterrupt();
      rmSync(r.control, { recursive: true, force: true });
      // One SSLKEYLOGFILE for Wireshark: both bridges' session keys.
      mergeKeyLogs(join(this.dir, 'dtls-keylogs'), this.keyLogPath);
    }
    return this.capturePath;
  }
}
