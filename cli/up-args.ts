/**
 * `testbed up`'s options, parsed into the graph it starts (api/up-graph.ts). Pure: no process
 * starts here, so bad input is refused before anything runs (unit-tested in up-args.test.ts).
 */
import { parseOptions } from './commands/options.ts';
import { PLACEMENT_NAMES, placementNamed, requireRealizable, type PlacementName } from '../topology/placements.ts';
import { BROKER_KINDS, type BrokerKind, type Graph } from '../topology/graph.ts';
import { MAX_UP_WEARABLES, UP_PATHS, UP_POLICIES, UP_RECIPES, parseImpairment, parseMalice, parseMitm, upGraph, type UpPath, type UpPolicy } from '../api/up-graph.ts';

export const UP_USAGE = `up [--topology ${PLACEMENT_NAMES.join('|')}] [--recipe ${UP_RECIPES.join('|')}] [--wearables N] [--path ${UP_PATHS.join('|')}] [--malice sniff|tamper:N|replay:N|drop:N]… [--mitm gateway-cloud:CASE[:stolen-identity]|device-gateway:CASE] [--broker aedes|mosquitto] [--policy ${UP_POLICIES.join('|')}] [--impair KIND:key=value,…]… [--readings N] [--port-base PORT] [--dir DIR] [--human]`;

export interface UpRequest {
  readonly placement: PlacementName;
  readonly graph: Graph;
  readonly readings: number;
  readonly portBase?: number;
  readonly dir?: string;
  readonly human: boolean;
  readonly help: boolean;
}

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new Error(`${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
  return n;
}

export function parseUpArgs(args: string[]): UpRequest {
  const { values } = parseOptions('up', UP_USAGE, args, {
    topology: { type: 'string', default: 'local' },
    recipe: { type: 'string', default: 'reporting' },
    wearables: { type: 'string', default: '1' },
    path: { type: 'string', default: 'terminating-gateway' },
    malice: { type: 'string', multiple: true },
    mitm: { type: 'string' },
    broker: { type: 'string' },
    policy: { type: 'string', default: 'default' },
    impair: { type: 'string', multiple: true },
    readings: { type: 'string', default: '1' },
    'port-base': { type: 'string' },
    dir: { type: 'string' },
    human: { type: 'boolean', default: false },
  });
  const placement = placementNamed(values.topology ?? 'local');
  const broker = values.broker ?? placement.defaultBroker;
  if (!(BROKER_KINDS as readonly string[]).includes(broker)) throw new Error(`unknown broker "${broker}"; use --broker ${BROKER_KINDS.join(' | ')}`);
  const graph = upGraph({
    recipe: values.recipe ?? 'reporting',
    broker: broker as BrokerKind,
    policy: values.policy as UpPolicy,
    wearables: wholeNumber('--wearables', values.wearables ?? '1', 1, MAX_UP_WEARABLES),
    path: values.path as UpPath,
    malice: (values.malice ?? []).map(parseMalice),
    ...(values.mitm ? parseMitm(values.mitm) : {}),
    impairments: (values.impair ?? []).map(parseImpairment),
  });
  // A broker (or anything) the placement cannot realize is refused here, before anything starts.
  requireRealizable(graph, placement);
  return {
    placement: placement.name,
    graph,
    readings: wholeNumber('--readings', values.readings ?? '1', 0, 100),
    ...(values['port-base'] ? { portBase: wholeNumber('--port-base', values['port-base'], 1024, 65_000) } : {}),
    ...(values.dir ? { dir: values.dir } : {}),
    human: values.human === true,
    help: values.help === true,
  };
}
