/**
 * A fleet shard (emulators/fleet/fleet-shard-routes.ts) hosted apart from the broker and the
 * cloud service: in a worker thread (the local placement, topology/local-fleet.ts) or in a forked
 * process (bench/fleet.ts, whose memory figure must be the wearables' own process). One Node
 * thread runs TLS and JavaScript on one core; with the wearables in their own thread the broker
 * (Aedes) and the cloud keep the main thread, and the two sides use the two cores.
 *
 * Requests carry ids over the worker's port or the IPC channel (topology/fleet-shard-worker.ts);
 * a route's error comes back as its one-line message. Every call is bounded. The worker or child
 * is terminated on stop, and it never keeps the host alive by itself: it is referenced only while
 * a call is in flight, and one that dies fails every call in flight with why.
 */
import { Worker } from 'node:worker_threads';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FleetShardSpec } from '../emulators/fleet/fleet-shard-routes.ts';
import type { ShardReply, ShardRequest } from './fleet-shard-worker.ts';
import { tsxExecArgv, tsxWorkerSource } from './tsx-runtime.ts';
import { fleetHostAllocator, type HostAllocator } from './fleet-host-allocator.ts';

const ENTRY = new URL('./fleet-shard-worker.ts', import.meta.url);
const THREAD_ENTRY = tsxWorkerSource(ENTRY);
/** Bound on building the shard's Fleet (5,000 devices: a few seconds). */
const READY_TIMEOUT_MS = 120_000;
/** Bound on a call without a deadline of its own (stats, sealed, a device's record), and the margin added to one with. */
const CALL_TIMEOUT_MS = 60_000;

export type ShardHostKind = 'worker thread' | 'forked process';

interface Channel {
  readonly pid: number;
  /** The shard's event loop, busy and idle, since it started (a worker thread's; none for a process). */
  elu?(): EventLoopUtilization;
  post(m: ShardRequest): void;
  hold(on: boolean): void;
  end(): Promise<void>;
}

export class FleetShardHost {
  /** Threads and processes started and not yet exited, over every host: what a test reads to prove none is left behind. */
  static #running = 0;
  static get running(): number {
    return FleetShardHost.#running;
  }
  readonly #channel: Channel;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #nextId = 1;
  #dead: string | undefined;
  #onReady: ((m: ShardReply) => void) | undefined;

  private constructor(
    readonly kind: ShardHostKind,
    make: (onReply: (m: ShardReply) => void, onGone: (why: string) => void) => Channel,
  ) {
    this.#channel = make(
      (m) => this.#reply(m),
      (why) => this.#gone(why),
    );
  }

  /** The forked process's id (its /proc/PID/status is the wearables' own memory); the host's own in a worker thread. */
  get pid(): number {
    return this.#channel.pid;
  }

  /** How busy the shard's thread was since `since` (a worker thread's event loop utilization; undefined in a process). */
  eventLoopUtilization(since?: EventLoopUtilization): EventLoopUtilization | undefined {
    const now = this.#channel.elu?.();
    return now && since ? { idle: now.idle - since.idle, active: now.active - since.active, utilization: (now.active - since.active) / (now.active - since.active + now.idle - since.idle) } : now;
  }

  /** The shard in a worker thread of this process. */
  static inWorkerThread(spec: FleetShardSpec): Promise<FleetShardHost> {
    return new FleetShardHost('worker thread', (onReply, onGone) => {
      const w = new Worker(THREAD_ENTRY, { eval: true });
      w.on('message', onReply);
      w.on('error', (err) => onGone(`its thread failed: ${err.message}`));
      FleetShardHost.#running++;
      w.on('exit', (code) => {
        FleetShardHost.#running--;
        onGone(`its thread exited (code ${code})`);
      });
      return { pid: process.pid, elu: () => w.performance.eventLoopUtilization(), post: (m) => w.postMessage(m), hold: (on) => (on ? w.ref() : w.unref()), end: async () => void (await w.terminate()) };
    }).#start(spec);
  }

  /**
   * The shard in a child process of its own (structured-clone IPC, as the worker's port), started
   * on `allocator` (topology/fleet-host-allocator.ts: jemalloc where the machine has it).
   */
  static inForkedProcess(spec: FleetShardSpec, allocator: HostAllocator = fleetHostAllocator()): Promise<FleetShardHost> {
    const make = (onReply: (m: ShardReply) => void, onGone: (why: string) => void): Channel => {
      const c = fork(fileURLToPath(ENTRY), [], { execArgv: tsxExecArgv(), serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...allocator.env } });
      c.on('message', (m) => onReply(m as ShardReply));
      c.on('error', (err) => onGone(`its process failed: ${err.message}`));
      FleetShardHost.#running++;
      c.on('exit', (code, signal) => {
        FleetShardHost.#running--;
        onGone(`its process exited (${signal ?? `code ${code}`})`);
      });
      return {
        pid: c.pid ?? 0,
        post: (m) => c.send(m),
        hold: (on) => {
          if (on) {
            c.ref();
            c.channel?.ref();
          } else {
            c.unref();
            c.channel?.unref();
          }
        },
        end: async () => {
          if (c.exitCode !== null || c.signalCode !== null) return;
          const exited = new Promise<void>((r) => c.once('exit', () => r()));
          c.kill('SIGTERM');
          // Bounded: a child that ignores SIGTERM is killed after 5 s.
          const timer = setTimeout(() => c.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(timer);
        },
      };
    };
    return new FleetShardHost('forked process', make).#start(spec);
  }

  async #start(spec: FleetShardSpec): Promise<this> {
    this.#channel.hold(true);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`fleet shard (${this.kind}): not ready after ${READY_TIMEOUT_MS / 1000} s building ${spec.members.length} wearables; the host is overloaded, try fewer wearables`)), READY_TIMEOUT_MS);
        this.#onReady = (m) => {
          clearTimeout(timer);
          this.#onReady = undefined;
          if ('fatal' in m) reject(new Error(m.fatal));
          else resolve();
        };
        this.#channel.post({ spec });
      });
    } catch (err) {
      await this.stop();
      throw err;
    } finally {
      this.#channel.hold(this.#pending.size > 0);
    }
    return this;
  }

  /** One route of the shard (fleet-shard-routes.ts); rejects with the route's own message. */
  call<T>(route: string, body: Record<string, unknown> = {}): Promise<T> {
    if (this.#dead) return Promise.reject(new Error(`fleet shard (${this.kind}): ${this.#dead}`));
    const id = this.#nextId++;
    const bound = (typeof body.deadlineMs === 'number' ? body.deadlineMs : 0) + CALL_TIMEOUT_MS;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => this.#settle(id, { id, error: `fleet shard (${this.kind}): ${route} did not answer within ${(bound / 1000).toFixed(0)} s; its thread is stuck or overloaded` }), bound);
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.#channel.hold(true);
      try {
        this.#channel.post({ id, route, body });
      } catch (err) {
        // A body that cannot be cloned, or a channel already closed: fail this call now, holding nothing.
        this.#settle(id, { id, error: `fleet shard (${this.kind}): could not send ${route}: ${err instanceof Error ? err.message : String(err)}` });
      }
    });
  }

  /** Stop every device (bounded), then end the thread or process. Safe to call twice. */
  async stop(): Promise<void> {
    if (!this.#dead) {
      await Promise.race([this.call('stop').catch(() => undefined), new Promise((r) => setTimeout(r, 10_000).unref())]);
      this.#gone('stopped');
    }
    await this.#channel.end();
  }

  #reply(m: ShardReply): void {
    if ('id' in m) this.#settle(m.id, m);
    else this.#onReady?.(m);
  }

  #settle(id: number, m: { id: number; result: unknown } | { id: number; error: string }): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    if ('error' in m) p.reject(new Error(m.error));
    else p.resolve(m.result);
    if (this.#pending.size === 0) this.#channel.hold(false);
  }

  #gone(why: string): void {
    if (this.#dead) return;
    this.#dead = why;
    this.#onReady?.({ fatal: `fleet shard (${this.kind}): ${why} before it was ready` });
    for (const id of [...this.#pending.keys()]) this.#settle(id, { id, error: `fleet shard (${this.kind}): ${why} while a call was in flight` });
    this.#channel.hold(false);
  }
}
