/**
 * ClientHello parser (RFC 8446 §4.1.2; RFC 5246 §7.4.1.2 for TLS 1.2): what a client offers —
 * versions, cipher suites, groups, key shares, SNI — read from the first bytes it sends. Used by
 * the MITM (what did the victim offer?) and the TLS-policy feature (does the wearable offer only
 * allowed suites?). Never throws on garbage: returns a reason instead.
 */
export interface ClientHello {
  /** legacy_version in the ClientHello body, e.g. 0x0303. */
  readonly legacyVersion: number;
  /** From supported_versions (RFC 8446 §4.2.1) when present, else [legacyVersion]. */
  readonly versions: readonly number[];
  readonly cipherSuites: readonly number[];
  readonly serverName?: string;
  readonly supportedGroups: readonly number[];
  readonly keyShareGroups: readonly number[];
  readonly signatureAlgorithms: readonly number[];
  readonly extensions: readonly number[];
  readonly hasPskExtension: boolean;
  readonly sessionIdLength: number;
}

export type ClientHelloParse = { readonly ok: true; readonly hello: ClientHello } | { readonly ok: false; readonly reason: string };

/** IANA TLS cipher suite names for the suites the source chapter's table and Node discuss. */
export const CIPHER_SUITE_NAMES: Readonly<Record<number, string>> = {
  0x1301: 'TLS_AES_128_GCM_SHA256',
  0x1302: 'TLS_AES_256_GCM_SHA384',
  0x1303: 'TLS_CHACHA20_POLY1305_SHA256',
  0x1304: 'TLS_AES_128_CCM_SHA256',
  0xc02b: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  0xc02c: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  0xc02f: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  0xc030: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  0xcca8: 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  0xcca9: 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  0xc009: 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA',
  0xc013: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
  0xc014: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA',
  0x002f: 'TLS_RSA_WITH_AES_128_CBC_SHA',
  0x0035: 'TLS_RSA_WITH_AES_256_CBC_SHA',
  0x009c: 'TLS_RSA_WITH_AES_128_GCM_SHA256',
  0x009d: 'TLS_RSA_WITH_AES_256_GCM_SHA384',
  0x00ff: 'TLS_EMPTY_RENEGOTIATION_INFO_SCSV',
};

export function cipherSuiteName(id: number): string {
  return CIPHER_SUITE_NAMES[id] ?? `0x${id.toString(16).padStart(4, '0')}`;
}

export const TLS_VERSION_NAMES: Readonly<Record<number, string>> = { 0x0301: 'TLS 1.0', 0x0302: 'TLS 1.1', 0x0303: 'TLS 1.2', 0x0304: 'TLS 1.3' };

class Reader {
  #at = 0;
  constructor(readonly bytes: Uint8Array, readonly what: string) {}
  get left(): number {
    return this.bytes.length - this.#at;
  }
  need(n: number): void {
    if (this.left < n) throw new RangeError(`${this.what}: truncated (needed ${n} more bytes, ${this.left} left)`);
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.#at++] as number;
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  u24(): number {
    return (this.u8() << 16) | this.u16();
  }
  take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }
  vector(lengthBytes: 1 | 2 | 3): Reader {
    const n = lengthBytes === 1 ? this.u8() : lengthBytes === 2 ? this.u16() : this.u24();
    return new Reader(this.take(n), this.what);
  }
  u16List(lengthBytes: 1 | 2): number[] {
    const r = this.vector(lengthBytes);
    const out: number[] = [];
    while (r.left >= 2) out.push(r.u16());
    return out;
  }
}

/**
 * Parse the ClientHello from the start of a client→server TLS byte stream (one or more
 * records; a ClientHello may span records, RFC 8446 §5.1).
 */
export function parseClientHello(stream: Uint8Array): ClientHelloParse {
  try {
    // Reassemble the handshake layer from the leading handshake records.
    const handshake: number[] = [];
    const records = new Reader(stream, 'TLS record');
    while (records.left >= 5) {
      const type = records.u8();
      records.u16();
      const fragment = records.vector(2);
      if (type !== 22) break;
      handshake.push(...fragment.take(fragment.left));
      if (handshake.length >= 4 && handshake.length >= 4 + (((handshake[1] as number) << 16) | ((handshake[2] as number) << 8) | (handshake[3] as number))) break;
    }
    if (handshake.length === 0) return { ok: false, reason: 'not a TLS handshake record (first byte must be 22)' };
    const hs = new Reader(Uint8Array.from(handshake), 'ClientHello');
    const msgType = hs.u8();
    if (msgType !== 1) return { ok: false, reason: `first handshake message is type ${msgType}, not ClientHello (1)` };
    const body = hs.vector(3);
    const legacyVersion = body.u16();
    body.take(32); // random
    const sessionIdLength = body.vector(1).left;
    const cipherSuites = body.u16List(2);
    body.vector(1); // compression methods
    const extensions: number[] = [];
    let versions: number[] = [legacyVersion];
    let serverName: string | undefined;
    let supportedGroups: number[] = [];
    const keyShareGroups: number[] = [];
    let signatureAlgorithms: number[] = [];
    if (body.left > 0) {
      const exts = body.vector(2);
      while (exts.left >= 4) {
        const type = exts.u16();
        const data = exts.vector(2);
        extensions.push(type);
        if (type === 0) {
          // server_name_list: { name_type(1) = host_name(0), HostName<1..2^16-1> } (RFC 6066 §3)
          const list = data.vector(2);
          if (list.left >= 3 && list.u8() === 0) {
            const name = list.vector(2);
            serverName = new TextDecoder().decode(name.take(name.left));
          }
        }
        if (type === 10) supportedGroups = data.u16List(2);
        if (type === 13) signatureAlgorithms = data.u16List(2);
        if (type === 43) versions = data.u16List(1);
        if (type === 51) {
          const shares = data.vector(2);
          while (shares.left >= 4) {
            keyShareGroups.push(shares.u16());
            shares.vector(2);
          }
        }
      }
    }
    return {
      ok: true,
      hello: { legacyVersion, versions, cipherSuites, ...(serverName ? { serverName } : {}), supportedGroups, keyShareGroups, signatureAlgorithms, extensions, hasPskExtension: extensions.includes(41), sessionIdLength },
    };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}
