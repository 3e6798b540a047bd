/**
 * How a worker thread or a forked process of ours runs TypeScript: through tsx, found beside this
 * project rather than from the current directory. A bare `import('tsx/esm/api')` in an eval'd
 * worker, or `--import tsx` for a child, resolves from process.cwd(): run from a directory with
 * no node_modules/tsx (bin/testbed.js itself finds tsx beside it), every shard thread failed with
 * "Cannot find package 'tsx'". import.meta.resolve resolves from this file instead.
 */
const TSX_LOADER = import.meta.resolve('tsx');
const TSX_API = import.meta.resolve('tsx/esm/api');

/** Source for `new Worker(source, { eval: true })`: tsx's loader hooks do not reach worker threads by themselves, so the worker registers them, then loads the TypeScript entry. */
export function tsxWorkerSource(entry: URL): string {
  return `import(${JSON.stringify(TSX_API)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
}

/** execArgv for a forked child that runs a TypeScript entry. */
export function tsxExecArgv(): string[] {
  return ['--import', TSX_LOADER];
}
