/**
 * A run as the reports see it, read back from Cucumber's messages (ndjson): each scenario with its
 * feature, status, skip reason, failures (in the order they happened) and attachments. The JUnit
 * rewrite (cli/junit-readable.ts) and the run summary page (cli/run-summary.ts) both read this.
 */
import type * as messages from '@cucumber/messages';
import { SKIP_PREFIX } from '../step-definitions/skip.ts';

export type ScenarioStatus = 'passed' | 'failed' | 'skipped' | 'pending' | 'undefined' | 'ambiguous' | 'unknown';

export interface StepFailure {
  /** The step's text ("Then the interception is blocked") or the hook's name ("After hook"). */
  readonly step: string;
  readonly message: string;
  readonly type?: string;
  readonly stack?: string;
}

export interface ScenarioAttachment {
  readonly mediaType: string;
  readonly fileName?: string;
  readonly body: string;
  readonly base64: boolean;
}

export interface ScenarioRun {
  readonly name: string;
  readonly featureName: string;
  readonly uri: string;
  /** The scenario's line, or its Examples row's line for an outline row. */
  readonly line: number;
  readonly tags: readonly string[];
  status: ScenarioStatus;
  skipReason?: string;
  readonly failures: StepFailure[];
  readonly attachments: ScenarioAttachment[];
  /** Steps no step definition matches (a dry run lists them). */
  readonly undefinedSteps: string[];
  durationMs: number;
}

const RANK: Record<ScenarioStatus, number> = { passed: 0, skipped: 1, pending: 2, undefined: 3, ambiguous: 4, unknown: 4, failed: 5 };

function statusOf(s: messages.TestStepResultStatus): ScenarioStatus {
  const lower = String(s).toLowerCase();
  return lower in RANK ? (lower as ScenarioStatus) : 'unknown';
}

const millis = (d: messages.Duration): number => Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6);

/** Scenarios in the order they started; a retried scenario counts once, by its last attempt. */
export function scenarioRuns(ndjson: string): ScenarioRun[] {
  const pickles = new Map<string, messages.Pickle>();
  const features = new Map<string, string>();
  const caseOfPickle = new Map<string, messages.TestCase>();
  const stepText = new Map<string, string>();
  const hookName = new Map<string, string>();
  const stepCaseId = new Map<string, string>();
  const started = new Map<string, ScenarioRun>();
  const startedAt = new Map<string, number>();
  const retried = new Set<string>();
  const order: string[] = [];
  for (const line of ndjson.split('\n')) {
    let e: messages.Envelope;
    try {
      e = JSON.parse(line) as messages.Envelope;
    } catch {
      continue; // an empty or cut-off line: nothing to take from it
    }
    if (e.gherkinDocument?.feature && e.gherkinDocument.uri) features.set(e.gherkinDocument.uri, e.gherkinDocument.feature.name);
    if (e.pickle) {
      pickles.set(e.pickle.id, e.pickle);
      for (const s of e.pickle.steps) stepText.set(s.id, s.text);
    }
    if (e.hook) hookName.set(e.hook.id, hookLabel(e.hook));
    if (e.testCase) {
      caseOfPickle.set(e.testCase.id, e.testCase);
      for (const s of e.testCase.testSteps) stepCaseId.set(s.id, e.testCase.id);
    }
    if (e.testCaseStarted) {
      const testCase = caseOfPickle.get(e.testCaseStarted.testCaseId);
      const pickle = pickles.get(testCase?.pickleId ?? '');
      if (!pickle || !testCase) continue;
      started.set(e.testCaseStarted.id, {
        name: pickle.name, featureName: features.get(pickle.uri) ?? pickle.uri, uri: pickle.uri, line: pickle.location?.line ?? 0,
        tags: pickle.tags.map((t) => t.name), status: 'passed', failures: [], attachments: [], undefinedSteps: [], durationMs: 0,
      });
      startedAt.set(e.testCaseStarted.id, millis(e.testCaseStarted.timestamp));
      order.push(e.testCaseStarted.id);
    }
    const a = e.attachment;
    const run = a?.testCaseStartedId ? started.get(a.testCaseStartedId) : undefined;
    if (a && run) {
      const base64 = a.contentEncoding === 'BASE64';
      if (!base64 && a.body.startsWith(SKIP_PREFIX)) run.skipReason ??= a.body.slice(SKIP_PREFIX.length);
      else run.attachments.push({ mediaType: a.mediaType, ...(a.fileName ? { fileName: a.fileName } : {}), body: a.body, base64 });
    }
    const finished = e.testStepFinished;
    const stepRun = finished ? started.get(finished.testCaseStartedId) : undefined;
    if (finished && stepRun) {
      const status = statusOf(finished.testStepResult.status);
      if (RANK[status] > RANK[stepRun.status]) stepRun.status = status;
      if (status === 'undefined') {
        const testStep = caseOfPickle.get(stepCaseId.get(finished.testStepId) ?? '')?.testSteps.find((s) => s.id === finished.testStepId);
        stepRun.undefinedSteps.push(stepText.get(testStep?.pickleStepId ?? '') ?? 'a step');
      }
      if (status === 'failed') {
        const testCase = caseOfPickle.get(stepCaseId.get(finished.testStepId) ?? '');
        const testStep = testCase?.testSteps.find((s) => s.id === finished.testStepId);
        const where = testStep?.pickleStepId ? stepText.get(testStep.pickleStepId) ?? 'a step' : hookName.get(testStep?.hookId ?? '') ?? 'a hook';
        const ex = finished.testStepResult.exception;
        stepRun.failures.push({
          step: where, message: ex?.message ?? firstLine(finished.testStepResult.message ?? 'failed'),
          ...(ex?.type ? { type: ex.type } : {}), ...(ex?.stackTrace ?? finished.testStepResult.message ? { stack: ex?.stackTrace ?? finished.testStepResult.message } : {}),
        });
      }
    }
    if (e.testCaseFinished) {
      const r = started.get(e.testCaseFinished.testCaseStartedId);
      if (r) r.durationMs = millis(e.testCaseFinished.timestamp) - (startedAt.get(e.testCaseFinished.testCaseStartedId) ?? 0);
      if (e.testCaseFinished.willBeRetried) retried.add(e.testCaseFinished.testCaseStartedId);
    }
  }
  return order.filter((id) => !retried.has(id)).map((id) => started.get(id) as ScenarioRun);
}

/** "the After hook (step-definitions/hooks.ts:44)": its kind, name if any, and where it is defined. */
function hookLabel(hook: messages.Hook): string {
  const kind = String(hook.type ?? '').toLowerCase().startsWith('before') ? 'Before' : String(hook.type ?? '').toLowerCase().startsWith('after') ? 'After' : '';
  const where = hook.sourceReference.uri ? ` (${hook.sourceReference.uri}:${hook.sourceReference.location?.line ?? '?'})` : '';
  return `the ${kind ? `${kind} ` : ''}hook${hook.name ? ` "${hook.name}"` : ''}${where}`;
}

export function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim() !== '')?.trim() ?? s;
}

/** The attachment's bytes, whichever way Cucumber stored it. */
export function attachmentBytes(a: ScenarioAttachment): Buffer {
  return a.base64 ? Buffer.from(a.body, 'base64') : Buffer.from(a.body, 'utf8');
}
