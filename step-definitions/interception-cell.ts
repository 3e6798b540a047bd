/**
 * One cell of a forged-certificate matrix as the steps record it and the run summary page
 * (cli/run-summary.ts) draws it. No imports: the CLI reads this without loading the steps' world
 * (whose run directory is fixed when first imported).
 */
export interface InterceptionCell {
  readonly forgedCase: string;
  readonly client: string;
  /** What was observed, not what the row expects: intercepted when the MITM read application data. */
  readonly observed: 'blocked' | 'intercepted';
  readonly reason: string;
  /** Paths relative to the run directory. */
  readonly capture?: string;
  readonly keyLog?: string;
}

export const INTERCEPTION_CELL_MEDIA_TYPE = 'application/json';
export const INTERCEPTION_CELL_FILE = 'interception-cell.json';
