/**
 * Scans image files from disk: each path gives findings or one clear problem line (unreadable,
 * a directory, empty), and a bad path never stops the others from being scanned.
 */
import { readFileSync, statSync } from 'node:fs';
import { scanBytes, sharedCredentials, type Finding, type SharedCredential } from './secret-scan.ts';

export interface FileScan {
  readonly file: string;
  readonly bytes: number;
  readonly findings: readonly Finding[];
}

export interface FleetScan {
  readonly scans: readonly FileScan[];
  /** One line per path that could not be scanned, saying what to fix. */
  readonly problems: readonly string[];
  readonly shared: readonly SharedCredential[];
}

/** Bigger than any MCU flash we emulate; a larger file is probably not a firmware image. */
export const MAX_IMAGE_BYTES = 256 * 1024 * 1024;

function problemOf(path: string): string | undefined {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) return `${path}: is a directory; pass the image files in it (e.g. ${path}/*.bin)`;
    if (!st.isFile()) return `${path}: is not a regular file; pass firmware image files`;
    size = st.size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `${path}: no such file; check the path` : `${path}: cannot read it (${code ?? (err as Error).message})`;
  }
  if (size === 0) return `${path}: is empty (0 bytes); a firmware dump that came out empty must be taken again`;
  if (size > MAX_IMAGE_BYTES) return `${path}: is ${size} bytes, over the ${MAX_IMAGE_BYTES}-byte limit for one image; split the dump per partition`;
  return undefined;
}

export function scanFiles(paths: readonly string[]): FleetScan {
  const scans: FileScan[] = [];
  const problems: string[] = [];
  for (const path of paths) {
    const problem = problemOf(path);
    if (problem) {
      problems.push(problem);
      continue;
    }
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      problems.push(`${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check its permissions`);
      continue;
    }
    scans.push({ file: path, bytes: bytes.length, findings: scanBytes(bytes) });
  }
  return { scans, problems, shared: sharedCredentials(scans) };
}
