/**
 * Finds secrets embedded in firmware images, as the source chapter's diagnosis says (§17.5,
 * "How to diagnose": search for "password", "api_key", "secret"; run `strings` on the binary;
 * check whether all devices use identical credentials). Every finding carries the byte offset
 * in the file and a fingerprint (SHA-256 of the secret, or of the public key for a private key,
 * or of the DER for a certificate), so identical credentials across a fleet are found by
 * fingerprint without printing the secrets themselves.
 */
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';

export type FindingKind = 'password' | 'username' | 'api-key' | 'pem-private-key' | 'der-private-key' | 'certificate' | 'ca-certificate' | 'high-entropy';

export interface Finding {
  readonly kind: FindingKind;
  readonly offset: number;
  readonly length: number;
  /** What it is, without the secret: the config key, the key type, the certificate subject. */
  readonly label: string;
  /** The first characters and the length; never the whole secret. */
  readonly preview: string;
  /** Hex SHA-256 (first 32 digits) identifying the credential across images. */
  readonly fingerprint: string;
}

/** Kinds that are credentials (a CA certificate is public; a username alone proves nothing). */
export const SECRET_KINDS: readonly FindingKind[] = ['password', 'api-key', 'pem-private-key', 'der-private-key', 'certificate', 'high-entropy'];

/**
 * Shannon entropy thresholds of the high-entropy rule, in bits per character, after the
 * published secret scanners' practice (truffleHog): a base64-alphabet string ≥ 20 characters
 * above 4.5, a hex string ≥ 20 characters above 3.0. English text sits near 4.0 bits/char over
 * its letters but rarely reaches 4.5 in 20 characters without repeats.
 */
export const ENTROPY_MIN_LENGTH = 20;
export const BASE64_ENTROPY_BITS = 4.5;
export const HEX_ENTROPY_BITS = 3.0;

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex').slice(0, 32);
const previewOf = (s: string) => `${s.slice(0, 4)}… (${s.length} chars)`;

export function shannonEntropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** Well-known API key shapes (the chapter's Stripe-style sk_live_, and other common vendors'). */
const API_KEY_SHAPES: readonly [string, RegExp][] = [
  ['Stripe-style live secret key', /(?:sk|rk)_live_[0-9A-Za-z]{10,99}/g],
  ['Stripe-style test secret key', /sk_test_[0-9A-Za-z]{10,99}/g],
  ['AWS access key id', /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g],
  ['Google API key', /\bAIza[0-9A-Za-z_-]{35}/g],
  ['GitHub token', /\bgh[pousr]_[0-9A-Za-z]{36}\b/g],
  ['Slack token', /\bxox[abprs]-[0-9A-Za-z-]{10,72}/g],
];

/** KEY=value, KEY: value, KEY\0value (NVS) and "key": "value" assignments of secrets and user names. */
// The lookbehind starts a key only at a word's first character: without it the engine retries
// from every character of every word (a third of the scan time on a 37 kB image).
const ASSIGNMENT = /(?<![A-Za-z0-9_.-])([A-Za-z_][A-Za-z0-9_.-]{0,40})"?\s*[=:\0]\s*"?([\x21-\x7e]{3,128})/g;
const PASSWORD_KEY = /pass(?:word|wd)?$|pwd$|secret|token|psk$/i;
const API_KEY_KEY = /api[_-]?key|access[_-]?key|auth[_-]?key/i;
const USER_KEY = /user(?:name)?$|login$/i;

const PEM_BLOCK = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY|CERTIFICATE)-----[\s\S]{16,16384}?-----END \1-----/g;

/** Length of the DER TLV at `at` (definite lengths up to 3 bytes), or undefined. */
function derLength(b: Buffer, at: number): number | undefined {
  if (at + 2 > b.length) return undefined;
  const first = b[at + 1] as number;
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n < 1 || n > 3 || at + 2 + n > b.length) return undefined;
  let len = 0;
  for (let i = 0; i < n; i++) len = (len << 8) | (b[at + 2 + i] as number);
  return 2 + n + len;
}

function keyFingerprint(key: ReturnType<typeof createPrivateKey>): string {
  return sha(createPublicKey(key).export({ type: 'spki', format: 'der' }));
}

function keyLabel(key: ReturnType<typeof createPrivateKey>): string {
  const d = key.asymmetricKeyDetails;
  return key.asymmetricKeyType === 'ec' ? `EC ${d?.namedCurve ?? ''} private key` : `${String(key.asymmetricKeyType).toUpperCase()} ${d?.modulusLength ?? ''}-bit private key`;
}

/**
 * DER private keys: PKCS#8 (SEQUENCE { INTEGER 0, SEQUENCE { OID … } … }, RFC 5208 §5) and SEC1
 * EC keys (SEQUENCE { INTEGER 1, OCTET STRING … }, RFC 5915 §3). Each candidate is handed to
 * node:crypto: a finding only when OpenSSL parses it as a key.
 */
function derKeys(b: Buffer, covered: (at: number) => boolean): Finding[] {
  const out: Finding[] = [];
  for (let at = b.indexOf(0x30); at >= 0 && at + 8 < b.length; at = b.indexOf(0x30, at + 1)) {
    const hdr = derLength(b, at);
    if (hdr === undefined || hdr < 40 || hdr > 4096 || at + hdr > b.length || covered(at)) continue;
    const inner = at + ((b[at + 1] as number) < 0x80 ? 2 : 2 + ((b[at + 1] as number) & 0x7f));
    const pkcs8 = b[inner] === 0x02 && b[inner + 1] === 0x01 && b[inner + 2] === 0x00 && b[inner + 3] === 0x30;
    const sec1 = b[inner] === 0x02 && b[inner + 1] === 0x01 && b[inner + 2] === 0x01 && b[inner + 3] === 0x04;
    if (!pkcs8 && !sec1) continue;
    try {
      const key = createPrivateKey({ key: b.subarray(at, at + hdr), format: 'der', type: pkcs8 ? 'pkcs8' : 'sec1' });
      out.push({ kind: 'der-private-key', offset: at, length: hdr, label: `${keyLabel(key)} (${pkcs8 ? 'PKCS#8' : 'SEC1'} DER)`, preview: `${hdr} bytes of DER`, fingerprint: keyFingerprint(key) });
      at += hdr - 1;
    } catch {
      // Not a key: machine code or data that happens to start like one.
    }
  }
  return out;
}

/**
 * A fleet's images carry the same CA certificate (and a scan may see one image twice): the
 * parse of a PEM text is kept, bounded, since the same bytes always parse the same.
 */
const certificateCache = new Map<string, Omit<Finding, 'offset' | 'length'>>();
const CERTIFICATE_CACHE_ENTRIES = 256;

function certificateFinding(pem: string): Omit<Finding, 'offset' | 'length'> {
  const cached = certificateCache.get(pem);
  if (cached) return cached;
  let f: Omit<Finding, 'offset' | 'length'>;
  try {
    const cert = new X509Certificate(pem);
    f = { kind: cert.ca ? 'ca-certificate' : 'certificate', label: cert.subject.replace(/\n/g, ', '), preview: `CN ${/CN=([^\n]*)/.exec(cert.subject)?.[1] ?? '?'}`, fingerprint: sha(cert.raw) };
  } catch {
    f = { kind: 'certificate', label: 'unparseable PEM certificate', preview: previewOf(pem), fingerprint: sha(pem) };
  }
  if (certificateCache.size >= CERTIFICATE_CACHE_ENTRIES) certificateCache.delete(certificateCache.keys().next().value as string);
  certificateCache.set(pem, f);
  return f;
}

/** Every secret in one image, in file order. */
export function scanBytes(bytes: Buffer): Finding[] {
  const text = bytes.toString('latin1');
  const findings: Finding[] = [];
  const spans: [number, number][] = [];
  const covered = (at: number, end = at + 1) => spans.some(([s, e]) => at < e && end > s);
  const add = (f: Finding) => {
    findings.push(f);
    spans.push([f.offset, f.offset + f.length]);
  };

  for (const m of text.matchAll(PEM_BLOCK)) {
    const pem = m[0];
    const at = m.index;
    if (m[1] === 'CERTIFICATE') {
      add({ offset: at, length: pem.length, ...certificateFinding(pem) });
    } else {
      try {
        const key = createPrivateKey(pem);
        add({ kind: 'pem-private-key', offset: at, length: pem.length, label: `${keyLabel(key)} (PEM)`, preview: `-----BEGIN ${m[1]}-----…`, fingerprint: keyFingerprint(key) });
      } catch {
        // An encrypted or damaged key is still a key in the image.
        add({ kind: 'pem-private-key', offset: at, length: pem.length, label: `${m[1]} (not loadable: encrypted or damaged)`, preview: `-----BEGIN ${m[1]}-----…`, fingerprint: sha(pem) });
      }
    }
  }
  for (const f of derKeys(bytes, (at) => covered(at))) add(f);

  for (const [label, re] of API_KEY_SHAPES) {
    for (const m of text.matchAll(re)) if (!covered(m.index, m.index + m[0].length)) add({ kind: 'api-key', offset: m.index, length: m[0].length, label, preview: previewOf(m[0]), fingerprint: sha(m[0]) });
  }

  const assignment = new RegExp(ASSIGNMENT.source, 'g');
  for (let m = assignment.exec(text); m; m = assignment.exec(text)) {
    const [, key, value] = m as unknown as [string, string, string];
    const at = m.index + m[0].length - value.length;
    const kind: FindingKind | undefined = API_KEY_KEY.test(key) ? 'api-key' : PASSWORD_KEY.test(key) ? 'password' : USER_KEY.test(key) ? 'username' : undefined;
    // Not a secret's key: its "value" may itself be the next key (NVS: key\0value\0key\0value).
    if (!kind) assignment.lastIndex = at;
    else if (!covered(at, at + value.length)) add({ kind, offset: at, length: value.length, label: key, preview: kind === 'username' ? value : previewOf(value), fingerprint: sha(value) });
  }

  // `strings`-style runs for the entropy rule (printable ASCII, at least ENTROPY_MIN_LENGTH).
  for (const m of text.matchAll(/[A-Za-z0-9+/=_-]{20,}/g)) {
    const s = m[0];
    if (covered(m.index, m.index + s.length)) continue;
    const hex = /^[0-9a-fA-F]+$/.test(s);
    const bits = shannonEntropy(s);
    if (bits > (hex ? HEX_ENTROPY_BITS : BASE64_ENTROPY_BITS)) add({ kind: 'high-entropy', offset: m.index, length: s.length, label: `${hex ? 'hex' : 'base64-alphabet'} string, ${bits.toFixed(2)} bits/char`, preview: previewOf(s), fingerprint: sha(s) });
  }
  return findings.sort((a, b) => a.offset - b.offset);
}

export interface SharedCredential {
  readonly kind: FindingKind;
  readonly label: string;
  readonly fingerprint: string;
  /** Every file that holds it, with the offset in that file. */
  readonly holders: readonly { readonly file: string; readonly offset: number }[];
}

/** Credentials found in more than one image: the fleet shares them (one leak exposes all). */
export function sharedCredentials(scans: readonly { readonly file: string; readonly findings: readonly Finding[] }[]): SharedCredential[] {
  const groups = new Map<string, { kind: FindingKind; label: string; fingerprint: string; holders: { file: string; offset: number }[] }>();
  for (const { file, findings } of scans) {
    for (const f of findings) {
      if (!SECRET_KINDS.includes(f.kind)) continue;
      const id = `${f.kind}:${f.fingerprint}`;
      const g = groups.get(id) ?? { kind: f.kind, label: f.label, fingerprint: f.fingerprint, holders: [] };
      if (!g.holders.some((h) => h.file === file)) g.holders.push({ file, offset: f.offset });
      groups.set(id, g);
    }
  }
  return [...groups.values()].filter((g) => g.holders.length > 1).sort((a, b) => b.holders.length - a.holders.length || a.kind.localeCompare(b.kind));
}
