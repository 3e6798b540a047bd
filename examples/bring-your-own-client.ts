/**
 * Bring your own client, from TypeScript: start the testbed's reporting graph (the one
 * `testbed up` starts), seal a reading for the device reserved for external clients, publish it
 * with mosquitto_pub through the gateway, and read the cloud's verdict from its audit.
 *
 * Run it:  node --import tsx examples/bring-your-own-client.ts [local|containers]
 * (needs mosquitto_pub: `testbed doctor` prints the install command)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mosquittoArgs, placementNamed, sealReading, up, upGraph, type AuditEntry } from 'iot-e3e4-testbed';

export async function bringYourOwnClient(placementName = 'local', dir?: string): Promise<AuditEntry | undefined> {
  const placement = placementNamed(placementName);
  const graph = upGraph({ broker: placement.defaultBroker, wearables: 1, path: 'terminating-gateway' });
  const running = await up(graph, { placement: placement.name, ...(dir ? { dir } : {}) });
  try {
    const device = running.pki.externalDevice.id;
    const sealed = sealReading({ runDir: running.evidence.dir, deviceId: device, emulatedDevices: [], reading: { heartRateBpm: 72, spo2Percent: 98 } });
    const payload = join(running.evidence.dir, 'example-e3.bin');
    writeFileSync(payload, sealed.packet, { mode: 0o600 });
    // Asynchronously: on the local placement the roles run in this very process.
    await promisify(execFile)('mosquitto_pub', [...mosquittoArgs(running.endpoint('gateway'), running.pki), '-t', sealed.topic, '-f', payload, '-q', '1'], { timeout: 15_000 });
    // The cloud audits asynchronously: look for the entry for a bounded while.
    for (let i = 0; i < 50; i++) {
      const entry = (await running.audit()).find((e) => e.deviceId === device);
      if (entry) return entry;
      await new Promise((r) => setTimeout(r, 200));
    }
    return undefined;
  } finally {
    await running.down();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const entry = await bringYourOwnClient(process.argv[2] ?? 'local');
  console.log(entry ? `the cloud ${entry.verdict} ${entry.deviceId}'s packet (sequence ${entry.sequence}, heart rate ${entry.reading?.heartRateBpm})` : 'the cloud audited nothing within 10 s');
}
