/**
 * "Search the bytes": does anything an observer holds contain a secret in clear?
 *
 * An observer is anything that saw traffic: a gateway's records, a link capture. A secret is
 * what E3 must hide (source chapter §17.6: PHI — readings and the patient's identity). We search
 * for whole encodings (the 48-byte reading, its ECG template, the identity as text), not for
 * single 2-byte values, which random ciphertext contains by chance.
 */
import { containsBytes } from '../capture/pcap-reader.ts';

export interface Secret {
  readonly label: string;
  readonly bytes: Uint8Array;
}

export interface Haystack {
  readonly label: string;
  readonly bytes: Uint8Array;
}

export interface Leak {
  readonly secret: string;
  readonly foundIn: string;
}

/** Smallest secret we search for: shorter strings occur in random bytes by chance. */
export const MIN_SECRET_BYTES = 8;

export function findLeaks(secrets: readonly Secret[], haystacks: readonly Haystack[]): Leak[] {
  const leaks: Leak[] = [];
  for (const s of secrets) {
    if (s.bytes.length < MIN_SECRET_BYTES) throw new Error(`leak-search: secret "${s.label}" is ${s.bytes.length} bytes; search for at least ${MIN_SECRET_BYTES} bytes or it matches ciphertext by chance`);
    for (const h of haystacks) if (containsBytes(h.bytes, s.bytes)) leaks.push({ secret: s.label, foundIn: h.label });
  }
  return leaks;
}

export function textSecret(label: string, text: string): Secret {
  return { label, bytes: new TextEncoder().encode(text) };
}
