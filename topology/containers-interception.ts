/**
 * The interception graph (topology/recipes.ts `interception()`) on the containers placement:
 * the victim and the MITM each in its own container on an internal network, a tcpdump sidecar
 * in the victim's namespace capturing the network hop between them.
 *
 *   interception network (internal)
 *   victim container ──127.0.0.1:8883 relay──▶ mitm.testbed.local:8883 (MITM container)
 *     └─ tcpdump sidecar in the victim's namespace (containers/tcpdump-controller.ts), one
 *        tcpdump per attempt: <scenario>/captures/victim-mitm.pcap
 *
 * Speed without a weaker verdict: the containers live for the whole run (one MITM container,
 * told per attempt which certificate to present; one victim container per client kind), and
 * every attempt gets a fresh TLS connection, a fresh proxy with a fresh observation log, its own
 * key log and its own capture file. Everything carries the run's labels: removed at the end of
 * the run (stopContainersInterception, from AfterAll), on Ctrl-C, and by the next run's start
 * if this one was killed.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanUpOnInterrupt, removeRun } from '../containers/run-labels.ts';
import { MitmProxyContainer, type StartedMitmProxyContainer } from '../containers/mitm-proxy-container.ts';
import { InterceptionVictimContainer, type StartedInterceptionVictimContainer } from '../containers/interception-victim-container.ts';
import { CONTROLLER_CAPTURE_DIR, TcpdumpController } from '../containers/tcpdump-controller.ts';
import { handBackCapture } from '../containers/tcpdump-sidecar.ts';
import { EVIDENCE_DIR } from '../containers/role-config.ts';
import { ensureImpostorBuilt } from '../emulators/tls-impostor-process.ts';
import { clientProfiles } from '../emulators/tls-client-profile.ts';
import { keyBelongsToCertificate } from '../emulators/mitm-proxy.ts';
import { ContainersTopology, internalNetwork, mergeKeyLogs } from './containers-topology.ts';
import { interception } from './recipes.ts';
import { containersPlacement, requireRealizable } from './placements.ts';
import { interceptionOutcome, prepareAttempt, PROXY_VERDICT_WAIT_MS, type AttemptOptions, type InterceptionOutcome, type RunMaterial } from './mitm-rig.ts';

const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MITM_NAME = 'mitm.testbed.local';

type VictimKind = 'wearable' | 'external-client';

interface Victim {
  readonly container: StartedInterceptionVictimContainer;
  /** A long-lived capture sidecar in the victim's namespace; it runs tcpdump per attempt. */
  readonly sidecar: TcpdumpController;
}

interface Rig {
  readonly runId: string;
  readonly runDir: string;
  readonly subnet: string;
  readonly network: string;
  readonly images: Awaited<ReturnType<typeof ContainersTopology.prepare>>;
  readonly mitm: StartedMitmProxyContainer;
  readonly victims: Map<VictimKind, Promise<Victim>>;
  readonly controlDirs: string[];
  readonly releaseInterrupt: () => void;
  readonly material: RunMaterial;
}

let rig: Promise<Rig> | undefined;

async function startRig(runDir: string, m: RunMaterial): Promise<Rig> {
  const images = await ContainersTopology.prepare();
  const runId = `tb-mitm-${process.pid}-${randomBytes(4).toString('hex')}`;
  const releaseInterrupt = cleanUpOnInterrupt(runId);
  const controlDirs: string[] = [];
  try {
    // Internal: no route out; only the victim and the MITM are on it (docs/architecture.md §8 The graph and its placements).
    const { name: network, subnet } = await internalNetwork(runId, 'interception');
    const control = mkdtempSync('/tmp/tb-ctl-');
    controlDirs.push(control);
    const mitm = await new MitmProxyContainer(images['mitm-proxy'])
      .withRun(runId)
      .withInternalNetwork(network, MITM_NAME)
      .withMounts({ project: PROJECT_DIR, pki: resolve(m.paths.dir), evidence: runDir, control })
      .start();
    return { runId, runDir, subnet, network, images, mitm, victims: new Map(), controlDirs, releaseInterrupt, material: m };
  } catch (err) {
    await removeRun(runId).catch(() => undefined);
    releaseInterrupt();
    for (const d of controlDirs) rmSync(d, { recursive: true, force: true });
    throw new Error(`containers: the interception rig did not come up: ${(err as Error).message}; nothing was left running`);
  }
}

async function startVictim(r: Rig, kind: VictimKind): Promise<Victim> {
  const control = mkdtempSync('/tmp/tb-ctl-');
  r.controlDirs.push(control);
  const m = r.material;
  const container = await new InterceptionVictimContainer(r.images.wearable)
    .withRun(r.runId)
    .withInternalNetwork(r.network, `victim-${kind}.testbed.local`)
    .withMounts({ project: PROJECT_DIR, pki: resolve(m.paths.dir), evidence: r.runDir, control })
    .withVictim(m.victim)
    .withRevocationAndPin(m.crlPems, m.cloudPin)
    .withMitm(MITM_NAME, MitmProxyContainer.LISTEN_PORT)
    .start();
  return { container, sidecar: TcpdumpController.start({ image: r.images.tcpdump, runId: r.runId, target: container.getId(), hostDir: r.runDir }) };
}

function victimOf(r: Rig, kind: VictimKind): Promise<Victim> {
  let v = r.victims.get(kind);
  if (!v) {
    v = startVictim(r, kind);
    r.victims.set(kind, v);
  }
  return v;
}

/** Start tcpdump in the sidecar for one attempt; the returned function stops it once the pcap is whole. */
async function capture(r: Rig, v: Victim, relDir: string): Promise<() => Promise<void>> {
  // The network hop only: the loopback relay inside the victim is not on the wire.
  const running = await v.sidecar.capture(`${CONTROLLER_CAPTURE_DIR}/${relDir}/captures/victim-mitm.pcap`, `tcp and net ${r.subnet}`);
  return async () => {
    // tcpdump drops packets still queued in the kernel ring on SIGINT: let them land first
    // (the victim has its verdict and the proxy its own by now; only the last FIN/ACKs are in flight).
    await sleep(100);
    await running.stop();
  };
}

/** One attempt, as attemptInterception() on the local placement, with each role in its container. */
export async function attemptInterceptionInContainers(o: AttemptOptions): Promise<InterceptionOutcome> {
  const kind: VictimKind = clientProfiles.has(o.client) ? 'wearable' : 'external-client';
  // The placement judges the graph before anything starts.
  requireRealizable(interception({ forgedCase: o.forgedCase, client: o.client, transport: 'tls' }), containersPlacement);
  const { m, credential } = await prepareAttempt(o);
  const runDir = resolve(o.runDir);
  rig ??= startRig(runDir, m).catch((err: unknown) => {
    rig = undefined;
    throw err;
  });
  const r = await rig;
  const dir = resolve(o.dir);
  const rel = relative(r.runDir, dir);
  if (rel.startsWith('..')) throw new Error(`containers: the scenario directory ${dir} is not inside the run directory ${r.runDir} (mounted at ${EVIDENCE_DIR}); keep scenario directories under the run's`);
  mkdirSync(join(dir, 'captures'), { recursive: true, mode: 0o700 });
  mkdirSync(join(dir, 'keylogs'), { recursive: true, mode: 0o700 });
  // The Go impostor runs from the read-only project mount: build it here, where Go is.
  if (!keyBelongsToCertificate({ certChainPem: credential.certChainPem, keyPem: credential.keyPem })) ensureImpostorBuilt();
  const victim = await victimOf(r, kind);
  const pcap = join(dir, 'captures', 'victim-mitm.pcap');
  const timeoutMs = o.timeoutMs ?? 5_000;
  // Both before the victim connects; neither needs the other.
  const [armed, capturing] = await Promise.allSettled([
    r.mitm.arm({ dir: rel, presents: { name: credential.name, explain: credential.explain, certChainPem: credential.certChainPem, keyPem: credential.keyPem, legacySecurityLevel: credential.needsLegacySecurityLevel } }),
    capture(r, victim, rel),
  ]);
  if (armed.status === 'rejected' || capturing.status === 'rejected') {
    if (capturing.status === 'fulfilled') await capturing.value();
    if (armed.status === 'fulfilled') await r.mitm.disarm(0);
    throw (armed.status === 'rejected' ? armed.reason : (capturing as PromiseRejectedResult).reason) as Error;
  }
  const stopCapture = capturing.value;
  let run;
  let proxy;
  try {
    run = await victim.container.attempt({ client: o.client, dir: rel, readings: o.readings ?? 2, timeoutMs });
  } finally {
    proxy = await r.mitm.disarm(PROXY_VERDICT_WAIT_MS);
    await stopCapture();
  }
  // Plaintext captures and key logs hold secrets: 0600, owned by this process's user.
  for (const f of [pcap, join(dir, 'impostor.keylog')]) if (existsSync(f)) handBackCapture(f);
  // One SSLKEYLOGFILE for the attempt: the victim's and the MITM's sessions.
  const keyLog = join(dir, 'sslkeys.keylog');
  mergeKeyLogs(join(dir, 'keylogs'), keyLog);
  return interceptionOutcome(o, m, credential, run, proxy, { capture: pcap, keyLog });
}

/** Remove the run's interception containers, sidecars and network (AfterAll; Ctrl-C is covered by label). */
export async function stopContainersInterception(): Promise<void> {
  const pending = rig;
  rig = undefined;
  if (!pending) return;
  const r = await pending.catch(() => undefined);
  if (!r) return;
  for (const pending of r.victims.values()) {
    const v = await pending.catch(() => undefined);
    await v?.sidecar.close().catch(() => undefined);
    await v?.container.stopRole().catch(() => undefined);
  }
  await r.mitm.stopRole().catch(() => undefined);
  await removeRun(r.runId);
  r.releaseInterrupt();
  for (const d of r.controlDirs) rmSync(d, { recursive: true, force: true });
}
