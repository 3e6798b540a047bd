/**
 * Progress for people: one line per scenario as it finishes (status, name, duration, and the
 * failing step's first error line), then a summary. The last line has the plain form
 * "N passed, N failed, N skipped" that CI systems read.
 */
import { Formatter, type IFormatterOptions } from '@cucumber/cucumber';
import type * as messages from '@cucumber/messages';
import { SKIP_PREFIX } from '../step-definitions/skip.ts';

type Outcome = 'passed' | 'failed' | 'skipped' | 'pending' | 'undefined' | 'ambiguous' | 'unknown';
const RANK: Record<Outcome, number> = { passed: 0, skipped: 1, pending: 2, undefined: 3, ambiguous: 4, unknown: 4, failed: 5 };
const MARK: Record<Outcome, string> = { passed: '✔ passed ', failed: '✘ FAILED ', skipped: '- skipped', pending: '? pending', undefined: '? undefined', ambiguous: '✘ ambiguous', unknown: '? unknown' };

export default class ProgressFormatter extends Formatter {
  static override readonly documentation = 'One line per scenario, then a summary';
  readonly #pickles = new Map<string, messages.Pickle>();
  readonly #testCases = new Map<string, messages.TestCase>();
  readonly #started = new Map<string, { testCaseId: string; startedAt: number; outcome: Outcome; message?: string; skipReason?: string; steps: Map<string, string> }>();
  readonly #totals: Record<'passed' | 'failed' | 'skipped', number> = { passed: 0, failed: 0, skipped: 0 };
  #count = 0;

  constructor(options: IFormatterOptions) {
    super(options);
    options.eventBroadcaster.on('envelope', (e: messages.Envelope) => this.#onEnvelope(e));
  }

  #onEnvelope(e: messages.Envelope): void {
    if (e.pickle) this.#pickles.set(e.pickle.id, e.pickle);
    if (e.testCase) this.#testCases.set(e.testCase.id, e.testCase);
    if (e.testCaseStarted) this.#started.set(e.testCaseStarted.id, { testCaseId: e.testCaseStarted.testCaseId, startedAt: Date.now(), outcome: 'passed', steps: new Map() });
    if (e.attachment) this.#attachment(e.attachment);
    if (e.testStepFinished) this.#stepFinished(e.testStepFinished);
    if (e.testCaseFinished && !e.testCaseFinished.willBeRetried) this.#caseFinished(e.testCaseFinished.testCaseStartedId);
    if (e.testRunFinished) this.#summary();
  }

  /** A skip's reason arrives as an attachment (step-definitions/skip.ts): it is the case's message. */
  #attachment(a: messages.Attachment): void {
    const run = a.testCaseStartedId ? this.#started.get(a.testCaseStartedId) : undefined;
    if (run && a.contentEncoding === 'IDENTITY' && a.body.startsWith(SKIP_PREFIX) && !run.skipReason) run.skipReason = a.body.slice(SKIP_PREFIX.length);
  }

  #stepFinished(f: messages.TestStepFinished): void {
    const run = this.#started.get(f.testCaseStartedId);
    if (!run) return;
    const status = f.testStepResult.status.toLowerCase() as Outcome;
    if ((RANK[status] ?? 4) > RANK[run.outcome]) {
      run.outcome = status in RANK ? status : 'unknown';
      const testCase = this.#testCases.get(run.testCaseId);
      const pickle = testCase ? this.#pickles.get(testCase.pickleId) : undefined;
      const step = testCase?.testSteps.find((s) => s.id === f.testStepId);
      const stepText = step?.pickleStepId ? pickle?.steps.find((s) => s.id === step.pickleStepId)?.text : step?.hookId ? 'a hook' : undefined;
      const why = f.testStepResult.message?.split('\n').find((l) => l.trim()) ?? '';
      run.message = [stepText ? `at "${stepText}"` : '', why].filter(Boolean).join(': ');
    }
  }

  #caseFinished(startedId: string): void {
    const run = this.#started.get(startedId);
    if (!run) return;
    const testCase = this.#testCases.get(run.testCaseId);
    const pickle = testCase ? this.#pickles.get(testCase.pickleId) : undefined;
    const seconds = ((Date.now() - run.startedAt) / 1000).toFixed(2);
    this.#count += 1;
    const bucket = run.outcome === 'passed' ? 'passed' : run.outcome === 'skipped' ? 'skipped' : 'failed';
    this.#totals[bucket] += 1;
    const where = pickle ? pickle.uri.replace(/^.*features\//, '') : '';
    this.log(`  ${MARK[run.outcome]}  ${pickle?.name ?? '(unknown scenario)'}  [${where}, ${seconds} s]\n`);
    if (run.outcome === 'skipped' && run.skipReason) this.log(`             ${run.skipReason}\n`);
    else if (run.outcome !== 'passed' && run.message) this.log(`             ${run.message}\n`);
  }

  #summary(): void {
    const t = this.#totals;
    this.log(`\n${this.#count} scenario(s)\n`);
    this.log(`scenarios: ${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped\n`);
  }
}
