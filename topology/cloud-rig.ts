/**
 * The cloud alone (broker + cloud service) on loopback, for scenarios that probe the broker's
 * own policy directly — mutual TLS, cipher and version policy — with clients we control.
 *
 *   probe client ──▶ cloud broker (mTLS, TLS policy) ──▶ cloud service (audit)
 */
import { createPrivateKey } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TlsOptions } from 'node:tls';
import { generatePki, type Pki } from '../certs/pki.ts';
import { writePki, type PkiPaths } from '../certs/pki-files.ts';
import { KeyLog } from '../capture/keylog.ts';
import { CloudBroker } from '../emulators/cloud/cloud-broker.ts';
import { loopbackBrokerConfig } from '../emulators/cloud/loopback-broker-config.ts';
import { CloudService } from '../emulators/cloud/cloud-service.ts';
import { DeviceRegistry } from '../emulators/cloud/device-registry.ts';
import { provisionDevice, type DeviceProvisioning } from '../emulators/provisioning.ts';
import { e3Topic } from '../emulators/wearable.ts';

export interface CloudRigOptions {
  readonly dir: string;
  readonly wearableIds: readonly string[];
  /**
   * The broker's TLS policy (versions, suites); its defaults otherwise. A function is called
   * with the run's PKI, for options that need it (e.g. a second, RSA, server certificate).
   */
  readonly tls?: TlsOptions | ((pki: Pki) => Promise<TlsOptions>);
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

export class CloudRig {
  readonly broker: CloudBroker;
  readonly service: CloudService;
  readonly devices: readonly DeviceProvisioning[];
  readonly #keyLog: KeyLog;
  #endpoint: { host: string; port: number } | undefined;

  private constructor(readonly pki: Pki, readonly paths: PkiPaths, devices: DeviceProvisioning[], keyLog: KeyLog, o: CloudRigOptions & { readonly tls?: TlsOptions }) {
    this.devices = devices;
    this.#keyLog = keyLog;
    const registry = new DeviceRegistry();
    for (const d of devices) registry.register(d, pki.wearables.get(d.deviceId)?.certPem as string);
    this.service = new CloudService({ registry, cloudE3PrivateKey: createPrivateKey(pki.cloudE3.privateKeyPem), nowSec: () => Math.floor(Date.now() / 1000), auditFile: join(o.dir, 'audit.jsonl') });
    this.broker = new CloudBroker(
      loopbackBrokerConfig(pki.cloud, {
        clientCaPem: pki.rootCa.certPem + pki.intermediateCa.certPem,
        ownTopicOf: (deviceId) => {
          const d = devices.find((x) => x.deviceId === deviceId);
          return d ? e3Topic(d.pseudonymHex) : undefined;
        },
        evidence: { tlsEndpoint: (_r, e) => keyLog.attach(e) },
        ...(o.minVersion ? { minVersion: o.minVersion } : {}),
        ...(o.tls ? { tlsServerOptions: o.tls } : {}),
      }),
    );
  }

  static async start(o: CloudRigOptions): Promise<CloudRig> {
    mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    const pki = await generatePki({ wearableIds: [...o.wearableIds] });
    const paths = await writePki(pki, join(o.dir, 'pki'));
    const devices = o.wearableIds.map((id, i) => provisionDevice(id, i + 1));
    const tls = typeof o.tls === 'function' ? await o.tls(pki) : o.tls;
    const rig = new CloudRig(pki, paths, devices, KeyLog.open(join(o.dir, 'sslkeys.keylog')), { ...o, ...(tls ? { tls } : {}) });
    rig.#endpoint = await rig.broker.start();
    rig.broker.subscribeReadings((payload, topic, deliveredBy) => rig.service.ingest(payload, { topic, deliveredBy }));
    return rig;
  }

  get endpoint(): { host: string; port: number } {
    if (!this.#endpoint) throw new Error('cloud-rig: not started');
    return this.#endpoint;
  }

  get keyLogPath(): string {
    return this.#keyLog.path;
  }

  async stop(): Promise<void> {
    await this.broker.stop();
    await this.#keyLog.close();
  }
}
