// Test support: run the external tools the capture tests cross-check against (tcpdump, tshark,
// openssl), each with a time limit, and say how to install one that is missing.
import { execFile } from 'node:child_process';

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Debian package that provides each tool, for the skip message. */
const PACKAGES: Record<string, string> = { tcpdump: 'tcpdump', tshark: 'tshark', openssl: 'openssl' };

/** Runs a tool to completion (killed after timeoutMs) and returns its exit code and output. */
export function runTool(file: string, args: string[], timeoutMs = 20_000): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const err = error as (NodeJS.ErrnoException & { killed?: boolean }) | null;
      if (err?.code === 'ENOENT') return reject(new Error(`${file} not found`));
      if (err?.killed) return reject(new Error(`${file} ${args.join(' ')} did not finish within ${timeoutMs} ms: ${stderr}`));
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** undefined if the tool runs; otherwise a skip reason naming the apt-get command. */
export async function missingTool(tool: string): Promise<string | undefined> {
  try {
    await runTool(tool, tool === 'openssl' ? ['version'] : ['--version'], 10_000);
    return undefined;
  } catch {
    return `${tool} is not installed: apt-get install ${PACKAGES[tool] ?? tool}`;
  }
}

/** Rejects if the promise does not settle in time, so no test can hang on a socket or process. */
export async function within<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
