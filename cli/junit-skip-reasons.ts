/**
 * Cucumber's JUnit formatter writes `<skipped/>` with no message: a 'skipped' result carries none.
 * The reason travels as an attachment (step-definitions/skip.ts); this writes it into the JUnit
 * file's `<skipped message="…">`, so a CI server shows why, next to the scenario.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type * as messages from '@cucumber/messages';
import { SKIP_PREFIX } from '../step-definitions/skip.ts';

/** Skip reasons by scenario name, in the order the scenarios ran (a name can repeat). */
export function skipReasonsFrom(ndjson: string): Map<string, string[]> {
  const pickles = new Map<string, messages.Pickle>();
  const caseOfPickle = new Map<string, string>();
  const startedCase = new Map<string, string>();
  const reasons = new Map<string, string[]>();
  for (const line of ndjson.split('\n')) {
    let e: messages.Envelope;
    try {
      e = JSON.parse(line) as messages.Envelope;
    } catch {
      continue; // not an envelope (an empty or cut-off line): nothing to take from it
    }
    if (e.pickle) pickles.set(e.pickle.id, e.pickle);
    if (e.testCase) caseOfPickle.set(e.testCase.id, e.testCase.pickleId);
    if (e.testCaseStarted) startedCase.set(e.testCaseStarted.id, e.testCaseStarted.testCaseId);
    const a = e.attachment;
    if (a?.testCaseStartedId && a.contentEncoding === 'IDENTITY' && a.body.startsWith(SKIP_PREFIX)) {
      const pickle = pickles.get(caseOfPickle.get(startedCase.get(a.testCaseStartedId) ?? '') ?? '');
      if (!pickle) continue;
      const list = reasons.get(pickle.name) ?? [];
      list.push(a.body.slice(SKIP_PREFIX.length));
      reasons.set(pickle.name, list);
    }
  }
  return reasons;
}

const xmlAttr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\n/g, '&#10;');
const xmlText = (s: string): string => s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/**
 * The scenario name inside a JUnit test case name. The formatter names a Scenario Outline's row
 * "<outline> - [<examples> - ]#<table>.<row>: <scenario>" (@cucumber/junit-xml-formatter's
 * default naming, NUMBER_AND_PICKLE_IF_PARAMETERIZED), not by the scenario's own name.
 */
export function scenarioNameOf(junitName: string): string {
  const row = / - #\d+\.\d+: ([\s\S]*)$/.exec(junitName);
  return row ? (row[1] as string) : junitName;
}

/** The JUnit XML with each reasonless `<skipped/>` given its scenario's reason. */
export function withSkipReasons(xml: string, reasons: Map<string, string[]>): string {
  const used = new Map<string, number>();
  return xml.replace(/(<testcase\b[^>]*\bname="([^"]*)"[^>]*>\s*)<skipped\s*\/>/g, (whole, head: string, name: string) => {
    const text = xmlText(name);
    const list = reasons.get(text) ?? reasons.get(scenarioNameOf(text));
    if (!list) return whole;
    const n = used.get(name) ?? 0;
    used.set(name, n + 1);
    const reason = list[Math.min(n, list.length - 1)] as string;
    return `${head}<skipped message="${xmlAttr(reason)}"/>`;
  });
}

export function addSkipReasons(junitPath: string, ndjsonPath: string): void {
  if (!existsSync(junitPath) || !existsSync(ndjsonPath)) return;
  writeFileSync(junitPath, withSkipReasons(readFileSync(junitPath, 'utf8'), skipReasonsFrom(readFileSync(ndjsonPath, 'utf8'))));
}
