/**
 * The certificate-DTLS graphs on the containers placement: the DTLS forged-certificate matrix
 * (recipe dtls-interception) and openssl s_client as an independent DTLS peer of the cloud's
 * certificate endpoint (recipe independent-dtls-peer), each role in its own container on an
 * internal network, the UDP hop captured by a tcpdump sidecar in the client's namespace.
 *
 *   dtls-interception network (internal, the run's)
 *   dtls-client container (pion bridge | s_client) ──UDP──▶ dtls-mitm.testbed.local:5684 (DTLS MITM container)
 *     └─ tcpdump sidecar in the client's namespace (containers/tcpdump-controller.ts), one
 *        capture per attempt: <scenario>/captures/victim-mitm.pcap
 *
 *   dtls-peer network (internal, the scenario's)
 *   dtls-client container (s_client) ──UDP──▶ cloud.testbed.local:5684 (cloud DTLS endpoint + cloud service)
 *     └─ tcpdump sidecar in the client's namespace: <scenario>/captures/peer-cloud.pcap
 *
 * Speed without a weaker verdict: the matrix's MITM and client containers live for the whole
 * run; every attempt gets a fresh MITM bridge (fresh DTLS server state and log), a fresh client
 * process (bridge or s_client, so a fresh DTLS session) and its own capture file. The peer's
 * containers are the scenario's own. Everything carries the run's labels: removed at the end of
 * the run (stopContainersDtlsInterception, from AfterAll), on Ctrl-C, and by the next run's
 * start if this one was killed.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { cleanUpOnInterrupt, removeRun } from '../containers/run-labels.ts';
import { handBackCapture, startTcpdumpSidecar } from '../containers/tcpdump-sidecar.ts';
import { CONTROLLER_CAPTURE_DIR, TcpdumpController } from '../containers/tcpdump-controller.ts';
import { EVIDENCE_DIR } from '../containers/role-config.ts';
import { DtlsClientContainer, DtlsCloudEndpointContainer, DtlsMitmContainer, type StartedDtlsClientContainer, type StartedDtlsMitmContainer } from '../containers/dtls-interception-containers.ts';
import { ensureDtlsBridge } from '../emulators/dtls/dtls-bridge-process.ts';
import { currentDtlsVersion, type DtlsVersion } from '../emulators/dtls/dtls-version.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { ContainersTopology, internalNetwork } from './containers-topology.ts';
import { independentDtlsPeer, interception } from './recipes.ts';
import { containersPlacement, requireRealizable } from './placements.ts';
import { runMaterial, type RunMaterial } from './mitm-rig.ts';
import { dtlsInterceptionOutcome, independentPeerOutcome, MITM_SETTLE_MS, prepareDtlsAttempt, type DtlsAttemptOptions, type DtlsInterceptionOutcome, type DtlsMatrixClient, type DtlsVictimRun, type IndependentPeerOutcome } from './dtls-mitm-rig.ts';
import { CLOUD_NAME } from '../certs/genuine-profiles.ts';

const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MITM_NAME = 'dtls-mitm.testbed.local';

type Images = Awaited<ReturnType<typeof ContainersTopology.prepare>>;

/** The scenario directory relative to the run's (mounted at EVIDENCE_DIR), with captures/ made. */
function scenarioDir(runDir: string, dir: string): { abs: string; rel: string } {
  const abs = resolve(dir);
  const rel = relative(runDir, abs);
  if (rel === '' || rel.startsWith('..')) throw new Error(`containers: the scenario directory ${abs} is not inside the run directory ${runDir} (mounted at ${EVIDENCE_DIR}); keep scenario directories under the run's`);
  mkdirSync(join(abs, 'captures'), { recursive: true, mode: 0o700 });
  return { abs, rel };
}

/** Capture the UDP hop on `subnet` beside `client` into <abs>/captures/<file>, around `body`. */
async function capturedAround<T>(o: { images: Images; runId: string; client: string; abs: string; file: string; subnet: string }, body: () => Promise<T>): Promise<{ result: T; capture: string }> {
  const hostDir = join(o.abs, 'captures');
  // The network hop only (DTLS over UDP); the role's control socket is not on the wire.
  const tcpdump = await startTcpdumpSidecar({ image: o.images.tcpdump, runId: o.runId, target: o.client, hostDir, file: o.file, filter: `udp and net ${o.subnet}` });
  let result: T;
  try {
    result = await body();
  } finally {
    await tcpdump.stop();
  }
  const capture = join(hostDir, o.file);
  if (existsSync(capture)) handBackCapture(capture);
  return { result, capture };
}

// ---------------------------------------------------------------------------------------------
// The matrix: long-lived MITM and client containers.

interface MatrixRig {
  readonly runId: string;
  readonly runDir: string;
  readonly subnet: string;
  readonly images: Images;
  readonly mitm: StartedDtlsMitmContainer;
  readonly client: StartedDtlsClientContainer;
  /** A long-lived capture sidecar in the client's namespace; tcpdump runs in it per attempt. */
  readonly sidecar: TcpdumpController;
  readonly controlDirs: string[];
  readonly releaseInterrupt: () => void;
}

/** One long-lived rig per DTLS version: a container speaks the version it was started with. */
const matrices = new Map<DtlsVersion, Promise<MatrixRig>>();

async function startMatrix(runDir: string, m: RunMaterial, timeoutMs: number): Promise<MatrixRig> {
  const images = await ContainersTopology.prepare();
  // The bridges run from the read-only project mount: build the binary here, where Go is.
  await ensureDtlsBridge();
  const runId = `tb-dtlsmitm-${process.pid}-${randomBytes(4).toString('hex')}`;
  const releaseInterrupt = cleanUpOnInterrupt(runId);
  const controlDirs = [mkdtempSync('/tmp/tb-ctl-'), mkdtempSync('/tmp/tb-ctl-')];
  try {
    const { name: network, subnet } = await internalNetwork(runId, 'dtls-interception');
    const mounts = (control: string) => ({ project: PROJECT_DIR, pki: resolve(m.paths.dir), evidence: runDir, control });
    const [mitm, client] = await Promise.all([
      new DtlsMitmContainer(images['mitm-proxy']).withRun(runId).withInternalNetwork(network, MITM_NAME).withMounts(mounts(controlDirs[0] as string)).withHandshakeTimeout(timeoutMs).start(),
      new DtlsClientContainer(images.wearable).withRun(runId).withInternalNetwork(network, 'dtls-victim.testbed.local').withMounts(mounts(controlDirs[1] as string)).withVictim(m.victim).start(),
    ]);
    const sidecar = TcpdumpController.start({ image: images.tcpdump, runId, target: client.getId(), hostDir: runDir });
    return { runId, runDir, subnet, images, mitm, client, sidecar, controlDirs, releaseInterrupt };
  } catch (err) {
    await removeRun(runId).catch(() => undefined);
    releaseInterrupt();
    for (const d of controlDirs) rmSync(d, { recursive: true, force: true });
    throw new Error(`containers: the DTLS interception rig did not come up: ${(err as Error).message}; nothing was left running`);
  }
}

/** One attempt, as attemptDtlsInterception() on the local placement, with each role in its container. */
export async function attemptDtlsInterceptionInContainers(o: DtlsAttemptOptions): Promise<DtlsInterceptionOutcome> {
  // The placement judges the graph before anything starts.
  requireRealizable(interception({ forgedCase: o.forgedCase, client: o.client, transport: 'dtls' }), containersPlacement);
  const { m, credential } = await prepareDtlsAttempt(o);
  const runDir = resolve(o.runDir);
  const timeoutMs = o.timeoutMs ?? 5_000;
  const version = currentDtlsVersion();
  let matrix = matrices.get(version);
  if (!matrix) {
    matrix = startMatrix(runDir, m, timeoutMs).catch((err: unknown) => {
      matrices.delete(version);
      throw err;
    });
    matrices.set(version, matrix);
  }
  const r = await matrix;
  const { abs, rel } = scenarioDir(r.runDir, o.dir);
  const capture = join(abs, 'captures', 'victim-mitm.pcap');
  // Both before the victim sends; neither needs the other. The UDP hop only (DTLS over UDP).
  const [armed, capturing] = await Promise.allSettled([r.mitm.arm({ dir: rel, presents: credential }), r.sidecar.capture(`${CONTROLLER_CAPTURE_DIR}/${rel}/captures/victim-mitm.pcap`, `udp and net ${r.subnet}`)]);
  if (armed.status === 'rejected' || capturing.status === 'rejected') {
    if (capturing.status === 'fulfilled') await capturing.value.stop().catch(() => undefined);
    if (armed.status === 'fulfilled') await r.mitm.disarm(0).catch(() => undefined);
    throw (armed.status === 'rejected' ? armed.reason : (capturing as PromiseRejectedResult).reason) as Error;
  }
  let run: DtlsVictimRun;
  let mitm: { observations: readonly Observation[]; plaintextBytes: number };
  try {
    run = await r.client.attempt({ client: o.client as DtlsMatrixClient, target: { host: MITM_NAME, port: DtlsMitmContainer.LISTEN_PORT }, readings: o.readings ?? 2, timeoutMs });
  } finally {
    // As on loopback: the MITM's bridge gets a moment to hand over what it decrypted (and the
    // last alerts land in the capture) before both stop.
    mitm = await r.mitm.disarm(MITM_SETTLE_MS);
    await capturing.value.stop();
  }
  if (existsSync(capture)) handBackCapture(capture);
  return dtlsInterceptionOutcome(o, m, credential, run, mitm, capture);
}

/** Remove the run's DTLS interception containers and network (AfterAll; Ctrl-C is covered by label). */
export async function stopContainersDtlsInterception(): Promise<void> {
  const pending = [...matrices.values()];
  matrices.clear();
  for (const p of pending) {
    const r = await p.catch(() => undefined);
    if (!r) continue;
    await r.sidecar.close().catch(() => undefined);
    await Promise.all([r.client.stopRole().catch(() => undefined), r.mitm.stopRole().catch(() => undefined)]);
    await removeRun(r.runId);
    r.releaseInterrupt();
    for (const d of r.controlDirs) rmSync(d, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The independent peer: the scenario's own containers.

/** As opensslToCloudDtls() on the local placement: s_client and the cloud's endpoint each in a container. */
export async function opensslToCloudDtlsInContainers(o: { runDir: string; dir: string; timeoutMs?: number }): Promise<IndependentPeerOutcome> {
  requireRealizable(independentDtlsPeer(), containersPlacement);
  const m = await runMaterial(o.runDir);
  const runDir = resolve(o.runDir);
  const { abs } = scenarioDir(runDir, o.dir);
  const timeoutMs = o.timeoutMs ?? 8_000;
  const images = await ContainersTopology.prepare();
  await ensureDtlsBridge();
  const runId = `tb-dtlspeer-${process.pid}-${randomBytes(4).toString('hex')}`;
  const releaseInterrupt = cleanUpOnInterrupt(runId);
  const controlDirs = [mkdtempSync('/tmp/tb-ctl-'), mkdtempSync('/tmp/tb-ctl-')];
  try {
    const { name: network, subnet } = await internalNetwork(runId, 'dtls-peer');
    const pki = resolve(m.paths.dir);
    // The cloud audits into the scenario's own directory (its evidence mount).
    const [cloud, client] = await Promise.all([
      new DtlsCloudEndpointContainer(images.wearable).withRun(runId).withInternalNetwork(network, CLOUD_NAME).withMounts({ project: PROJECT_DIR, pki, evidence: abs, control: controlDirs[0] as string }).withDevices([m.victim]).withHandshakeTimeout(timeoutMs).start(),
      new DtlsClientContainer(images.wearable).withRun(runId).withInternalNetwork(network, 'openssl.testbed.local').withMounts({ project: PROJECT_DIR, pki, evidence: runDir, control: controlDirs[1] as string }).withVictim(m.victim).start(),
    ]);
    try {
      const { result: peer, capture } = await capturedAround({ images, runId, client: client.getId(), abs, file: 'peer-cloud.pcap', subnet }, () => client.sClient({ target: { host: CLOUD_NAME, port: DtlsCloudEndpointContainer.LISTEN_PORT }, timeoutMs }));
      const [audit, log] = await Promise.all([cloud.audit(), cloud.observations()]);
      return independentPeerOutcome(m, peer, { audit, log }, capture);
    } finally {
      await Promise.all([client.stopRole().catch(() => undefined), cloud.stopRole().catch(() => undefined)]);
    }
  } finally {
    await removeRun(runId).catch(() => undefined);
    releaseInterrupt();
    for (const d of controlDirs) rmSync(d, { recursive: true, force: true });
  }
}
