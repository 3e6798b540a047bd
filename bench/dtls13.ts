/**
 * DTLS 1.3 benchmark (issue 12 "Speed"): DTLS 1.3 handshakes per second and datagrams per second
 * through the wolfSSL bridge with the TypeScript side, against wolfSSL-to-wolfSSL in one C
 * process without TypeScript (`wolfssl-bridge bench`) in the same run; and 100 DTLS 1.3
 * handshakes at once against one bridge server (target: under 2 s).
 *
 *   node --import tsx bench/dtls13.ts [--handshakes N] [--datagrams N] [--concurrent N]
 *
 * Every case: TLS_AES_128_GCM_SHA256, the cloud's P-256 certificate checked by name, no client
 * certificate, the HelloRetryRequest cookie on (wolfSSL's default), loopback, no delay.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir, type } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generatePki } from '../certs/pki.ts';
import { writePki, type PkiPaths } from '../certs/pki-files.ts';
import { CLOUD_NAME } from '../certs/genuine-profiles.ts';
import { DtlsBridgeProcess } from '../emulators/dtls/dtls-bridge-process.ts';
import { WOLFSSL_BRIDGE_BINARY, ensureWolfsslBridge } from '../emulators/dtls/wolfssl-bridge.ts';

const LOOPBACK = '127.0.0.1';
const WINDOW = 50;
const PAYLOAD = 97; // 0x01 ‖ a 96-byte E3 packet, as the wearable sends

function bounded(what: string, n: number, max: number): number {
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`bench/dtls13: --${what} must be a whole number 1..${max}, got ${n}`);
  return n;
}

function runBinary(args: string[], timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(WOLFSSL_BRIDGE_BINARY, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
      if (!line) return reject(new Error(`bench/dtls13: wolfssl-bridge ${args[0]} printed no result (${(err as Error | null)?.message ?? ''} ${stderr.trim()})`));
      resolve(JSON.parse(line) as Record<string, unknown>);
    });
  });
}

/** wolfSSL to wolfSSL in one process: the baseline. */
function inProcess(pki: PkiPaths, handshakes: number, datagrams: number): Promise<Record<string, unknown>> {
  return runBinary(['bench', '--cert', pki.cloud.chain, '--key', pki.cloud.key, '--ca', pki.caBundle, '--server-name', CLOUD_NAME, '--handshakes', String(handshakes), '--datagrams', String(datagrams), '--payload', String(PAYLOAD)], 300_000);
}

/** Through the bridges, as the roles use them: handshakes one after another, then datagrams WINDOW in flight. */
async function throughBridge(pki: PkiPaths, handshakes: number, datagrams: number): Promise<{ handshakesPerSec: number; datagramsPerSec: number }> {
  const server = await DtlsBridgeProcess.start({ mode: 'server', version: 'dtls1.3', listen: { host: LOOPBACK, port: 0 }, certFile: pki.cloud.chain, keyFile: pki.cloud.key }, { name: 'bench/server' });
  const client = await DtlsBridgeProcess.start({ mode: 'client', version: 'dtls1.3', connect: server.dtlsAddress, caFile: pki.caBundle, serverName: CLOUD_NAME }, { name: 'bench/client' });
  try {
    const t0 = performance.now();
    for (let i = 0; i < handshakes; i++) {
      const since = client.log.all().length;
      if (i > 0) client.command({ cmd: 'reconnect' });
      const o = await client.handshakeOutcome(10_000, since);
      if (!o.ok) throw new Error(`bench/dtls13: handshake ${i + 1} failed: ${String(o.event.reason)}`);
    }
    const handshakesPerSec = handshakes / ((performance.now() - t0) / 1000);
    let received = 0;
    let waiting: (() => void) | undefined;
    server.onDatagram(() => {
      received += 1;
      waiting?.();
    });
    const payload = new Uint8Array(PAYLOAD).fill(1);
    const t1 = performance.now();
    const deadline = t1 + 120_000;
    for (let sent = 0; sent < datagrams; ) {
      while (sent - received < WINDOW && sent < datagrams) {
        client.send(payload);
        sent += 1;
      }
      await new Promise<void>((r) => {
        waiting = r;
        setTimeout(r, 20); // a lost datagram must not stall the loop
      });
      if (performance.now() > deadline) throw new Error(`bench/dtls13: ${received} of ${datagrams} datagrams after 120 s`);
    }
    while (received < datagrams * 0.99 && performance.now() < t1 + 120_000) await new Promise((r) => setTimeout(r, 10));
    return { handshakesPerSec, datagramsPerSec: received / ((performance.now() - t1) / 1000) };
  } finally {
    await client.stop();
    await server.stop();
  }
}

async function concurrent(pki: PkiPaths, n: number): Promise<Record<string, unknown>> {
  const server = await DtlsBridgeProcess.start({ mode: 'server', version: 'dtls1.3', listen: { host: LOOPBACK, port: 0 }, certFile: pki.cloud.chain, keyFile: pki.cloud.key, handshakeTimeoutMs: 10_000 }, { name: 'bench/concurrent-server' });
  try {
    const a = server.dtlsAddress;
    return await runBinary(['bench', '--connect', `${a.host}:${a.port}`, '--concurrent', String(n), '--ca', pki.caBundle, '--server-name', CLOUD_NAME, '--handshake-timeout', '10s'], 30_000);
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { handshakes: { type: 'string', default: '100' }, datagrams: { type: 'string', default: '10000' }, concurrent: { type: 'string', default: '100' } } });
  const handshakes = bounded('handshakes', Number(values.handshakes), 10_000);
  const datagrams = bounded('datagrams', Number(values.datagrams), 1_000_000);
  const n = bounded('concurrent', Number(values.concurrent), 1000);
  await ensureWolfsslBridge();
  const dir = mkdtempSync(join(tmpdir(), 'bench-dtls13-'));
  try {
    const pki = await writePki(await generatePki({ wearableIds: ['wearable-0001'] }), join(dir, 'pki'));
    console.log(`bench/dtls13: ${handshakes} handshakes, ${datagrams} datagrams (${WINDOW} in flight), ${n} concurrent; Node ${process.version}, ${type()} ${release()}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
    const base = await inProcess(pki, handshakes, datagrams);
    console.log(`DTLS 1.3 (wolfSSL 5.5.4), ${String(base.cipherSuite)}, server certificate P-256 checked by name, HRR cookie on, loopback, no emulated delay`);
    const bridge = await throughBridge(pki, handshakes, datagrams);
    const hs = Number(base.handshakesPerSec);
    const dg = Number(base.datagramsPerSec);
    console.log(`  full handshakes   wolfSSL-to-wolfSSL ${hs.toFixed(0).padStart(7)} /s   bridge + TS ${bridge.handshakesPerSec.toFixed(0).padStart(7)} /s   ratio ${(bridge.handshakesPerSec / hs).toFixed(2)}`);
    console.log(`  datagrams (${PAYLOAD} B)  wolfSSL-to-wolfSSL ${dg.toFixed(0).padStart(7)} /s   bridge + TS ${bridge.datagramsPerSec.toFixed(0).padStart(7)} /s   ratio ${(bridge.datagramsPerSec / dg).toFixed(2)}`);
    const c = await concurrent(pki, n);
    const ms = Number(c.elapsedMs);
    console.log(`  ${n} concurrent DTLS 1.3 handshakes against one bridge server: ${String(c.completed)} completed, ${String(c.failed)} failed, in ${ms} ms (target < 2000 ms: ${ms < 2000 && c.completed === n ? 'met' : 'NOT met'})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exitCode = 1;
});
