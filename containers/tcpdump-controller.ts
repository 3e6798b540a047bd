/**
 * A long-lived capture sidecar for roles that make many short captures (the forged-certificate
 * matrix: one pcap per attempt). Like containers/tcpdump-sidecar.ts it shares a role's network
 * namespace (`--network container:<id>`, NET_RAW) and writes into a mounted directory, but the
 * container stays up for the run and starts and stops tcpdump on request, one line each over
 * its stdin: no container start and no `docker exec` per capture (each costs a few hundred ms,
 * and `docker exec` passes no signal on, so SIGINT could not reach tcpdump through it).
 *
 *   → start <file> <filter…>     ← ready | failed <tcpdump's words>
 *   → stop                       ← stopped <N> packets captured … | failed <tcpdump's words>
 *
 * tcpdump's stderr goes to a file in the sidecar, so its closing packet count is read from
 * there once it has exited (SIGINT: it flushes the pcap first).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { labelArgs } from './run-labels.ts';

export const CONTROLLER_CAPTURE_DIR = '/captures';

// dash: `read` splits the line into the command, the file and the filter's words.
const CONTROLLER = `
err=/tmp/tcpdump.err
while read -r cmd file filter; do
  case "$cmd" in
    start)
      rm -f "$err"
      tcpdump -Z root -U --immediate-mode -n -i any -s 262144 -w "$file" $filter 2>"$err" &
      pid=$!
      i=0
      until grep -q "listening on" "$err" 2>/dev/null || ! kill -0 "$pid" 2>/dev/null || [ "$i" -ge 1500 ]; do sleep 0.01; i=$((i+1)); done
      if grep -q "listening on" "$err"; then echo ready; else echo "failed $(tr '\\n' ' ' < "$err")"; fi ;;
    stop)
      kill -INT "$pid" 2>/dev/null; wait "$pid"
      if grep -q "packets captured" "$err"; then echo "stopped $(tr '\\n' ' ' < "$err")"; else echo "failed $(tr '\\n' ' ' < "$err")"; fi ;;
    *) echo "failed unknown command $cmd" ;;
  esac
done
`;

export interface TcpdumpControllerOptions {
  readonly image: string;
  readonly runId: string;
  /** The container whose network namespace is captured. */
  readonly target: string;
  /** Host directory mounted at CONTROLLER_CAPTURE_DIR; capture files are paths under it. */
  readonly hostDir: string;
}

export class TcpdumpController {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #replies: string[] = [];
  readonly #waiting: ((line: string | undefined) => void)[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  #exited = false;
  #stderr = '';

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    child.stderr.on('data', (b: Buffer) => (this.#stderr = (this.#stderr + b.toString()).slice(-2000)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const waiter = this.#waiting.shift();
      if (waiter) waiter(line);
      else this.#replies.push(line);
    });
    child.once('close', () => {
      this.#exited = true;
      for (const w of this.#waiting.splice(0)) w(undefined);
    });
  }

  static start(o: TcpdumpControllerOptions): TcpdumpController {
    const child = spawn('docker', ['run', '-i', '--rm', '--network', `container:${o.target}`, '--cap-add', 'NET_RAW', ...labelArgs(o.runId), '-v', `${o.hostDir}:${CONTROLLER_CAPTURE_DIR}`, '--entrypoint', 'sh', o.image, '-c', CONTROLLER], { stdio: ['pipe', 'pipe', 'pipe'] });
    return new TcpdumpController(child);
  }

  /** One request, one reply line; requests are answered in order. */
  #ask(line: string, timeoutMs: number): Promise<string> {
    const asked = this.#queue.then(
      () =>
        new Promise<string>((resolve, reject) => {
          if (this.#exited) return reject(new Error(`tcpdump-controller: the capture sidecar has exited; it said: ${this.#stderr.trim() || '(nothing)'}`));
          const timer = setTimeout(() => reject(new Error(`tcpdump-controller: no answer to "${line.split(' ')[0]}" within ${timeoutMs} ms; the sidecar said: ${this.#stderr.trim() || '(nothing)'}`)), timeoutMs);
          const answer = (reply: string | undefined) => {
            clearTimeout(timer);
            if (reply === undefined) reject(new Error(`tcpdump-controller: the capture sidecar exited; it said: ${this.#stderr.trim() || '(nothing)'}`));
            else resolve(reply);
          };
          const ready = this.#replies.shift();
          if (ready !== undefined) answer(ready);
          else this.#waiting.push(answer);
          this.#child.stdin.write(`${line}\n`);
        }),
    );
    this.#queue = asked.catch(() => undefined);
    return asked;
  }

  /**
   * Capture `filter` into `file` (a path under CONTROLLER_CAPTURE_DIR) from now until the
   * returned stop() resolves with tcpdump's packet count.
   */
  async capture(file: string, filter: string): Promise<{ stop(): Promise<number> }> {
    if (!file.startsWith(`${CONTROLLER_CAPTURE_DIR}/`) || /\s/.test(file) || file.includes('..')) throw new Error(`tcpdump-controller: "${file}" must be a path under ${CONTROLLER_CAPTURE_DIR}/ without spaces`);
    if (/[\n;&|$`<>'"\\]/.test(filter)) throw new Error(`tcpdump-controller: the filter "${filter}" holds a character the sidecar's shell would interpret; write a plain BPF expression`);
    const started = await this.#ask(`start ${file} ${filter}`, 20_000);
    if (started !== 'ready') throw new Error(`tcpdump-controller: tcpdump did not start on ${file}: ${started.replace(/^failed /, '')}`);
    return {
      stop: async () => {
        const stopped = await this.#ask('stop', 10_000);
        const count = /(\d+) packets? captured/.exec(stopped);
        if (!stopped.startsWith('stopped') || !count) throw new Error(`tcpdump-controller: tcpdump stopped without its packet count; the capture in ${file} may be incomplete; it said: ${stopped.replace(/^(failed|stopped) /, '')}`);
        return Number(count[1]);
      },
    };
  }

  /** End the loop (the container removes itself: --rm); bounded, then killed. */
  async close(): Promise<void> {
    if (this.#exited) return;
    const closed = new Promise((r) => this.#child.once('close', r));
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await closed;
    clearTimeout(timer);
  }
}
