/**
 * The Debian mirror and suite this machine already uses, read from its apt sources (deb822
 * `/etc/apt/sources.list.d/*.sources` first, then one-line `/etc/apt/sources.list`). The base
 * image is bootstrapped from there, so no mirror or registry host is ever written into the
 * project (docs/architecture.md §8 The graph and its placements).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AptMirror {
  /** e.g. the URI of the machine's main Debian archive. */
  readonly uri: string;
  /** e.g. 'bookworm'. */
  readonly suite: string;
  /** The file it was read from, for messages. */
  readonly source: string;
}

/** Parse deb822 stanzas; returns the first `Types: deb` stanza's first URI and suite. */
export function parseDeb822(text: string, source: string): AptMirror[] {
  const found: AptMirror[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (name: string): string[] => {
      const m = new RegExp(`^${name}:\\s*(.+)$`, 'mi').exec(stanza);
      return m ? (m[1] as string).trim().split(/\s+/) : [];
    };
    if (!field('Types').includes('deb') || field('Enabled')[0] === 'no') continue;
    const uri = field('URIs')[0];
    // The base suite (bookworm), not -updates/-security: debootstrap wants the release itself.
    const suite = field('Suites').find((s) => !s.includes('-') && !s.includes('/'));
    if (uri && suite && /^https?:\/\//.test(uri)) found.push({ uri, suite, source });
  }
  return found;
}

/** Parse one-line `deb [opts] URI SUITE COMPONENTS` entries. */
export function parseOneLine(text: string, source: string): AptMirror[] {
  const found: AptMirror[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (m && /^https?:\/\//.test(m[1] as string) && !(m[2] as string).includes('-')) found.push({ uri: m[1] as string, suite: m[2] as string, source });
  }
  return found;
}

export function readAptMirror(etcApt = '/etc/apt'): AptMirror {
  const candidates: AptMirror[] = [];
  const dir = join(etcApt, 'sources.list.d');
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (name.endsWith('.sources')) candidates.push(...parseDeb822(readFileSync(path, 'utf8'), path));
      else if (name.endsWith('.list')) candidates.push(...parseOneLine(readFileSync(path, 'utf8'), path));
    }
  }
  const list = join(etcApt, 'sources.list');
  if (existsSync(list)) candidates.push(...parseOneLine(readFileSync(list, 'utf8'), list));
  // Prefer a Debian archive (the base image is Debian); otherwise the first usable entry.
  const debian = candidates.find((c) => /\/debian\/?$/.test(c.uri)) ?? candidates[0];
  if (!debian) {
    throw new Error(`containers: no usable Debian mirror in ${dir}/*.sources or ${list}; add one to apt's sources (apt must work here), then retry`);
  }
  return debian;
}
