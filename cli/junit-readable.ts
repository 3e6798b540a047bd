/**
 * JUnit for a CI server's failure page. Cucumber's JUnit formatter names an outline row
 * "<outline> - #1.3: <scenario>" and reports the last of the most severe step results, so when
 * a step fails and an After hook fails behind it, CI shows the hook's error instead of the
 * assertion that said what went wrong. This rewrite gives each test case its scenario's own name
 * and puts the first failure first (the others follow in the stack text, labelled).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { scenarioNameOf } from './junit-skip-reasons.ts';
import { scenarioRuns, type ScenarioRun } from './run-messages.ts';

const xmlAttr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\n/g, '&#10;');
const xmlText = (s: string): string => s.replace(/&#10;/g, '\n').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
const cdata = (s: string): string => `<![CDATA[${s.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
const attrOf = (attrs: string, name: string): string | undefined => {
  const m = new RegExp(`\\b${name}="([^"]*)"`).exec(attrs);
  return m ? xmlText(m[1] as string) : undefined;
};

/** The <failure> element for a scenario: its first failure as the message, the rest after it. */
export function primaryFailure(run: ScenarioRun): string | undefined {
  const [first, ...rest] = run.failures;
  if (!first) return undefined;
  const text = [first.stack ?? first.message, ...rest.map((f) => `\nalso failed afterwards, in ${f.step}: ${f.message}`)].join('\n');
  return `<failure${first.type ? ` type="${xmlAttr(first.type)}"` : ''} message="${xmlAttr(`${first.step}: ${first.message}`)}">${cdata(text)}</failure>`;
}

/** The JUnit XML with readable outline-row names and each failure's primary error first. */
export function readableJUnit(xml: string, runs: readonly ScenarioRun[]): string {
  // Cucumber's JUnit lists test cases by feature file, then line: take the runs in that order.
  const queue = new Map<string, ScenarioRun[]>();
  for (const r of [...runs].sort((a, b) => a.uri.localeCompare(b.uri) || a.line - b.line)) {
    const key = `${r.featureName}\u0000${r.name}`;
    queue.set(key, [...(queue.get(key) ?? []), r]);
  }
  const seen = new Map<string, number>();
  // Attribute by attribute: Cucumber leaves '>' unescaped inside an outline's name="…".
  return xml.replace(/<testcase((?:\s+[\w:-]+="[^"]*")*)\s*(\/>|>([\s\S]*?)<\/testcase>)/g, (whole, attrs: string, _end: string, inner: string | undefined) => {
    const classname = attrOf(attrs, 'classname') ?? '';
    const junitName = attrOf(attrs, 'name') ?? '';
    const name = scenarioNameOf(junitName);
    const run = queue.get(`${classname}\u0000${name}`)?.shift();
    if (!run) return whole;
    // Two rows of one outline can expand to the same text (one per examples table): number the repeats.
    const n = (seen.get(`${classname}\u0000${name}`) ?? 0) + 1;
    seen.set(`${classname}\u0000${name}`, n);
    const readable = n > 1 ? `${name} (${n})` : name;
    const head = attrs.replace(/\bname="[^"]*"/, `name="${xmlAttr(readable)}"`);
    if (inner === undefined) return `<testcase${head}/>`;
    const failure = primaryFailure(run);
    const body = failure ? inner.replace(/<failure\b[^>]*?(\/>|>[\s\S]*?<\/failure>)/, failure) : inner;
    return `<testcase${head}>${body}</testcase>`;
  });
}

/** Rewrite a JUnit file in place from the run's messages; nothing to do when either is missing. */
export function makeJUnitReadable(junitPath: string, ndjsonPath: string): void {
  if (!existsSync(junitPath) || !existsSync(ndjsonPath)) return;
  writeFileSync(junitPath, readableJUnit(readFileSync(junitPath, 'utf8'), scenarioRuns(readFileSync(ndjsonPath, 'utf8'))));
}
