/**
 * The containers placement's broker for the connection benchmarks: Mosquitto 2.0 in its role
 * image (containers/cloud-broker-container.ts, the same configuration as every containers and
 * swarm run: TLS 1.3, mutual TLS, the certificate CN as username, the ACL), on an internal Docker
 * network of its own. The host sits on that network's bridge, so the benchmark's clients reach
 * the broker at its address there, as the host's relays do (api/published-endpoints.ts): a
 * bridge hop more than loopback, which the broker's row pays and the raw baseline does not.
 *
 * The per-packet log is off (`withoutPacketLog`): a deployed broker does not log every packet,
 * and connection lines still reach the log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Pki } from '../certs/pki.ts';
import { writePki } from '../certs/pki-files.ts';
import type { DeviceProvisioning } from '../emulators/provisioning.ts';
import { CloudBrokerContainer } from '../containers/cloud-broker-container.ts';
import { CLOUD_SERVICE_CN } from '../certs/genuine-profiles.ts';
import { MQTT_TLS_PORT } from '../containers/role-config.ts';
import { cleanUpOnInterrupt, removeRun } from '../containers/run-labels.ts';
import { ContainersTopology, internalNetwork } from '../topology/containers-topology.ts';

export interface BenchMosquitto {
  readonly host: string;
  readonly port: number;
  /** Mosquitto's own log (docker logs). */
  log(): Promise<string>;
  stop(): Promise<void>;
}

/** Start Mosquitto for `devices` (its ACL lists them) with `pki`; `persistentSessions` as the fleet's broker. */
export async function startBenchMosquitto(pki: Pki, devices: readonly DeviceProvisioning[], o: { persistentSessions?: boolean; say?: (line: string) => void } = {}): Promise<BenchMosquitto> {
  const say = o.say ?? ((line: string) => console.log(line));
  // Docker up, the role images present (built if their inputs changed), no reaper (no registry).
  const images = await ContainersTopology.prepare(say);
  const runId = `tb-bench-${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'bench-mosquitto-'));
  // Ctrl-C during a benchmark removes the broker and its network too (no reaper here).
  const releaseInterrupt = cleanUpOnInterrupt(runId);
  const cleanUp = async () => {
    releaseInterrupt();
    await removeRun(runId);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // The broker reads the CA bundle and its own chain and key; the devices' keys stay out of its mount.
    const paths = await writePki({ ...pki, wearables: new Map() }, join(dir, 'pki'));
    const network = await internalNetwork(runId, 'bench');
    let broker = new CloudBrokerContainer(images['cloud-broker'])
      .withInternalNetwork(network.name, 'cloud.testbed.local')
      .withRun(runId)
      .withPki(paths.dir)
      .withConfigDir(join(dir, 'broker'))
      .withDevices(devices)
      .withSubscriber(CLOUD_SERVICE_CN)
      .withoutPacketLog();
    if (o.persistentSessions) broker = broker.withPersistentSessions();
    const started = await broker.start();
    return {
      host: started.getIpAddress(network.name),
      port: MQTT_TLS_PORT,
      log: () => started.log(),
      stop: async () => {
        await started.stop({ timeout: 5_000, remove: true }).catch(() => undefined);
        await cleanUp();
      },
    };
  } catch (err) {
    await cleanUp();
    throw err;
  }
}
