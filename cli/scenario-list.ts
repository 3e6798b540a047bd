/**
 * What `testbed run` would run, without running it: the tag expression checked up front (one line
 * with its cause), and the scenarios Cucumber plans, each with its feature and its tags
 * (`testbed run --list`).
 */
import { readFileSync } from 'node:fs';
import { AstBuilder, GherkinClassicTokenMatcher, Parser, compile } from '@cucumber/gherkin';
import { IdGenerator } from '@cucumber/messages';
import parseTagExpression from '@cucumber/tag-expressions';

/** The tag expression's problem in one line with an example of a good one, or undefined when it parses. */
export function tagExpressionProblem(expression: string): string | undefined {
  try {
    parseTagExpression(expression);
    return undefined;
  } catch (err) {
    const cause = (err as Error).message.replace(/^Tag expression "[\s\S]*" could not be parsed because of /, '');
    return `--tags "${expression}" is no valid tag expression (${cause.replace(/\.$/, '')}); write tags joined by and/or/not with balanced parentheses, e.g. --tags "@mitm and not @dtls"`;
  }
}

export interface ListedScenario {
  readonly feature: string;
  readonly name: string;
  readonly uri: string;
  readonly line: number;
  readonly tags: readonly string[];
}

/** Feature names and tags of the scenarios in the given feature files, keyed by "uri:line". */
export function scenariosIn(uris: readonly string[]): Map<string, ListedScenario> {
  const out = new Map<string, ListedScenario>();
  const newId = IdGenerator.incrementing();
  for (const uri of uris) {
    const doc = new Parser(new AstBuilder(newId), new GherkinClassicTokenMatcher()).parse(readFileSync(uri, 'utf8'));
    const feature = doc.feature?.name ?? uri;
    for (const p of compile(doc, uri, newId)) {
      const line = lineOf(doc, p.astNodeIds);
      out.set(`${uri}:${line}`, { feature, name: p.name, uri, line, tags: p.tags.map((t) => t.name) });
    }
  }
  return out;
}

type Doc = ReturnType<Parser<unknown>['parse']>;

/** The line Cucumber plans a pickle at: its Examples row for an outline row, else its scenario's. */
function lineOf(doc: Doc, astNodeIds: readonly string[]): number {
  const lines = new Map<string, number>();
  const visit = (children: readonly { scenario?: { id: string; location: { line: number }; examples: readonly { tableBody: readonly { id: string; location: { line: number } }[] }[] }; rule?: { children: readonly unknown[] } }[]): void => {
    for (const c of children) {
      if (c.scenario) {
        lines.set(c.scenario.id, c.scenario.location.line);
        for (const ex of c.scenario.examples) for (const row of ex.tableBody) lines.set(row.id, row.location.line);
      }
      if (c.rule) visit(c.rule.children as Parameters<typeof visit>[0]);
    }
  };
  visit((doc.feature?.children ?? []) as Parameters<typeof visit>[0]);
  const row = astNodeIds.length > 1 ? lines.get(astNodeIds[1] as string) : undefined;
  return row ?? lines.get(astNodeIds[0] as string) ?? 0;
}

/** One line per scenario: feature, name, tags. */
export function listLines(planned: readonly { name: string; uri: string; location: { line: number } }[]): string[] {
  const known = scenariosIn([...new Set(planned.map((p) => p.uri))]);
  return planned.map((p) => {
    const s = known.get(`${p.uri}:${p.location.line}`);
    return `${p.uri}:${p.location.line}  ${s?.feature ?? ''} — ${p.name}${s ? `  ${s.tags.join(' ')}` : ''}`;
  });
}
