/**
 * The interception graph (topology/recipes.ts `interception()`) on the containers placement:
 * the victim and the MITM each in its own container on an internal network, a tcpdump sidecar
 * in the victim's namespace capturing the network hop between them.
 *
 *   interception network (internal)
 *   victim container ──127.0.0.1:8883 relay──▶ mitm.testbed.local:8883 (MITM container)
 *     └─ tcpdump sidecar in the victim's namespace: <scenario>/captures/victim-mitm.pcap
 *
 * Speed without a weaker verdict: the containers live for the whole run (one MITM container,
 * told per attempt which certificate to present; one victim container per client kind), and
 * every attempt gets a fresh TLS connection, a fresh proxy with a fresh observation log, its own
 * key log and its own capture file. Everything carries the run's labels: removed at the end of
 * the run (stopContainersInterception, from AfterAll), on Ctrl-C, and by the next run's start
 * if this one was killed.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Tcpdump } from '../capture/tcpdump.ts';
import { readPcap } from '../capture/pcap-reader.ts';
import { docker } from '../containers/docker-cli.ts';
import { cleanUpOnInterrupt, labelArgs, removeRun } from '../containers/run-labels.ts';
import { MitmProxyContainer, type StartedMitmProxyContainer } from '../containers/mitm-proxy-container.ts';
import { InterceptionVictimContainer, type StartedInterceptionVictimContainer } from '../containers/interception-victim-container.ts';
import { SIDECAR_CAPTURE_DIR } from '../containers/tcpdump-sidecar.ts';
import { EVIDENCE_DIR } from '../containers/role-config.ts';
import { ensureImpostorBuilt } from '../emulators/tls-impostor-process.ts';
import { clientProfiles } from '../emulators/tls-client-profile.ts';
import { keyBelongsToCertificate } from '../emulators/mitm-proxy.ts';
import { ContainersTopology, mergeKeyLogs } from './containers-topology.ts';
import { interception } from './recipes.ts';
import { containersPlacement, requireRealizable } from './placements.ts';
import { interceptionOutcome, prepareAttempt, PROXY_VERDICT_WAIT_MS, type AttemptOptions, type InterceptionOutcome, type RunMaterial } from './mitm-rig.ts';

const PROJECT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MITM_NAME = 'mitm.testbed.local';
/** tcpdump's pid in the sidecar: `docker exec` does not pass our SIGINT on, so we send it there. */
const PID_FILE = '/tmp/tcpdump.pid';
/** The sidecar runs tcpdump as root (-Z root) so it may write into the run's 0700 evidence directories. */
const TCPDUMP_AS_ROOT = `echo $$ > ${PID_FILE}; p="$1"; shift; exec "$p" -Z root "$@"`;

type VictimKind = 'wearable' | 'external-client';

interface Victim {
  readonly container: StartedInterceptionVictimContainer;
  /** A long-lived capture sidecar in the victim's namespace; tcpdump runs in it per attempt. */
  readonly sidecar: string;
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
    const network = `${runId}-interception`;
    // --internal: no route out; only the victim and the MITM are on it (DESIGN.md §8).
    await docker(['network', 'create', '--internal', ...labelArgs(runId), network]);
    const { stdout } = await docker(['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', network]);
    const control = mkdtempSync('/tmp/tb-ctl-');
    controlDirs.push(control);
    const mitm = await new MitmProxyContainer(images['mitm-proxy'])
      .withRun(runId)
      .withInternalNetwork(network, MITM_NAME)
      .withMounts({ project: PROJECT_DIR, pki: resolve(m.paths.dir), evidence: runDir, control })
      .start();
    return { runId, runDir, subnet: stdout.trim(), network, images, mitm, victims: new Map(), controlDirs, releaseInterrupt, material: m };
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
  const { stdout } = await docker(['run', '-d', '--rm', '--network', `container:${container.getId()}`, '--cap-add', 'NET_RAW', ...labelArgs(r.runId), '-v', `${r.runDir}:${SIDECAR_CAPTURE_DIR}`, '--entrypoint', 'sleep', r.images.tcpdump, 'infinity']);
  return { container, sidecar: stdout.trim() };
}

function victimOf(r: Rig, kind: VictimKind): Promise<Victim> {
  let v = r.victims.get(kind);
  if (!v) {
    v = startVictim(r, kind);
    r.victims.set(kind, v);
  }
  return v;
}

/** Start tcpdump in the sidecar for one attempt; the returned function stops it once the pcap at `hostPath` is complete. */
async function capture(r: Rig, v: Victim, relDir: string, hostPath: string): Promise<() => Promise<void>> {
  const tcpdump = await Tcpdump.start({
    interface: 'any',
    // The network hop only: the loopback relay inside the victim is not on the wire.
    filter: `tcp and net ${r.subnet}`,
    outFile: `${SIDECAR_CAPTURE_DIR}/${relDir}/captures/victim-mitm.pcap`,
    command: ['docker', 'exec', v.sidecar, 'sh', '-c', TCPDUMP_AS_ROOT, 'sh'],
    readyTimeoutMs: 15_000,
    drainMs: 0,
  });
  return async () => {
    // tcpdump drops packets still queued in the kernel ring on SIGINT: let them land first
    // (the victim has its verdict and the proxy its own by now; only the last FIN/ACKs are in flight).
    await sleep(100);
    // SIGINT where it runs, and wait (bounded, 2 s) until it has exited: the file is then whole.
    await docker(['exec', v.sidecar, 'sh', '-c', `p="$(cat ${PID_FILE})"; kill -INT "$p"; i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.02; i=$((i+1)); done`]);
    try {
      await tcpdump.stop();
    } catch (err) {
      // docker exec at times loses a process's last stderr lines (tcpdump's packet count) as it
      // exits; tcpdump has exited, so the file itself says whether the capture is whole.
      const read = readPcap(hostPath);
      if (read.problems.length > 0) throw new Error(`${(err as Error).message}; and ${hostPath} does not parse: ${read.problems.join('; ')}`);
    }
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
    capture(r, victim, rel, pcap),
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
  for (const f of [pcap, join(dir, 'impostor.keylog')]) {
    if (!existsSync(f)) continue;
    chownSync(f, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
    chmodSync(f, 0o600);
  }
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
  for (const v of r.victims.values()) await (await v.catch(() => undefined))?.container.stopRole().catch(() => undefined);
  await r.mitm.stopRole().catch(() => undefined);
  await removeRun(r.runId);
  r.releaseInterrupt();
  for (const d of r.controlDirs) rmSync(d, { recursive: true, force: true });
}
