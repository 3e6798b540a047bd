/**
 * The DTLS 1.3 bridge (wolfssl-bridge/README.md): wolfSSL built from Debian's own source package
 * (cli/wolfssl-build.ts), with the same control lines, events and plaintext framing as the pion
 * dtls-bridge. This module builds its command line and builds the binary; DtlsBridgeProcess
 * (dtls-bridge-process.ts) picks it when a profile asks for `dtls1.3` (dtls-version.ts).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WOLFSSL_BUILD_COMMAND } from '../../cli/wolfssl-build.ts';
import { dtlsBridgeArgs, type DtlsBridgeOptions, type UdpAddress } from './dtls-bridge-process.ts';

export const WOLFSSL_BRIDGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../wolfssl-bridge');
export const WOLFSSL_BRIDGE_BINARY = join(WOLFSSL_BRIDGE_DIR, 'bin', 'wolfssl-bridge');
/** Set to "1" where the bridge must not be built, only run (a role container). */
export const WOLFSSL_BRIDGE_PREBUILT_ENV = 'TESTBED_WOLFSSL_BRIDGE_PREBUILT';

/** DTLS 1.3 knobs (RFC 9147); each defaults as the bridge does. */
export interface Dtls13Options {
  /** Server: the stateless HelloRetryRequest cookie (RFC 9147 §5.1); default on. */
  readonly hrrCookie?: boolean;
  /** Connection ID (RFC 9146, RFC 9147 §9); default off. */
  readonly connectionId?: boolean;
  /** 0-RTT early data (RFC 8446 §4.2.10); default off. */
  readonly earlyData?: boolean;
  /** Server: every ticket resumes once (RFC 8446 §8.1 anti-replay); default on. */
  readonly singleUseTickets?: boolean;
  /** `1.3`: DTLS 1.3 only (default); `1.2-1.3`: also DTLS 1.2, i.e. downgrade-capable. */
  readonly versions?: '1.3' | '1.2-1.3';
}

/** The bridge cannot run here because wolfSSL with DTLS 1.3 is not built: a skip outside CI. */
export class WolfsslBridgeUnavailableError extends Error {
  override readonly name = 'WolfsslBridgeUnavailableError';
}

/**
 * A DTLS 1.2 suite name (pion's, as the client profiles spell them) to the TLS 1.3 AEAD suite of
 * the same cipher. DTLS 1.3 has only AEAD suites with the key exchange negotiated apart
 * (RFC 8446 §4.1.2), so CBC and the key-exchange part have no counterpart and are dropped.
 */
export function dtls13Suite(name: string): string | undefined {
  if (name.startsWith('TLS13-')) return name;
  if (/AES256-GCM/.test(name)) return 'TLS13-AES256-GCM-SHA384';
  if (/AES128-GCM/.test(name)) return 'TLS13-AES128-GCM-SHA256';
  if (/CCM8|CCM-8/.test(name)) return 'TLS13-AES128-CCM-8-SHA256';
  if (/CCM/.test(name)) return 'TLS13-AES128-CCM-SHA256';
  if (/CHACHA20/.test(name)) return 'TLS13-CHACHA20-POLY1305-SHA256';
  return undefined;
}

/**
 * The wolfssl-bridge command line: dtls-bridge's flags (the same interface) without the pion-only
 * ones, the suites as TLS 1.3 names, then the DTLS 1.3 knobs.
 */
export function wolfsslBridgeArgs(o: DtlsBridgeOptions, plain: { own: UdpAddress }): string[] {
  // Extended master secret (RFC 7627) is built into TLS 1.3's key schedule; the MTU is wolfSSL's
  // own (built without --enable-dtls-mtu it fragments the handshake to fit a 1500-byte link).
  const { extendedMasterSecret: _ems, mtu: _mtu, ciphers, dtls13, version: _version, ...common } = o;
  const suites = [...new Set((ciphers ?? []).map(dtls13Suite).filter((s): s is string => s !== undefined))];
  const args = dtlsBridgeArgs({ ...common, ...(suites.length > 0 ? { ciphers: suites } : {}) } as DtlsBridgeOptions, plain);
  const d = dtls13 ?? {};
  const flag = (name: string, value: string | undefined): void => {
    if (value !== undefined) args.push(`--${name}`, value);
  };
  const onOff = (v: boolean | undefined): string | undefined => (v === undefined ? undefined : v ? 'on' : 'off');
  flag('hrr-cookie', onOff(d.hrrCookie));
  flag('cid', onOff(d.connectionId));
  if (d.earlyData) args.push('--early-data');
  flag('single-use-tickets', onOff(d.singleUseTickets));
  flag('versions', d.versions);
  return args;
}

/** build.sh's exit status when wolfSSL with DTLS 1.3 is not built. */
const NOT_BUILT_STATUS = 3;
let build: Promise<string> | undefined;

/** Build the bridge if needed (wolfssl-bridge/build.sh decides), once per process. */
export function ensureWolfsslBridge(): Promise<string> {
  if (process.env[WOLFSSL_BRIDGE_PREBUILT_ENV] === '1') {
    return existsSync(WOLFSSL_BRIDGE_BINARY)
      ? Promise.resolve(WOLFSSL_BRIDGE_BINARY)
      : Promise.reject(new Error(`wolfssl-bridge: ${WOLFSSL_BRIDGE_BINARY} is missing in this container; build it on the host with wolfssl-bridge/build.sh before starting DTLS 1.3 roles`));
  }
  build ??= new Promise<string>((resolveBuild, reject) => {
    execFile('bash', [join(WOLFSSL_BRIDGE_DIR, 'build.sh')], { timeout: 180_000 }, (err, _stdout, stderr) => {
      if (!err && existsSync(WOLFSSL_BRIDGE_BINARY)) return resolveBuild(WOLFSSL_BRIDGE_BINARY);
      const output = stderr.trim().split('\n').slice(-30).join('\n') || (err as Error | null)?.message || `${WOLFSSL_BRIDGE_BINARY} was not written`;
      if ((err as { code?: unknown } | null)?.code === NOT_BUILT_STATUS) {
        reject(new WolfsslBridgeUnavailableError(`DTLS 1.3 needs wolfSSL built from Debian's source package, and it is not built here; build it with: ${WOLFSSL_BUILD_COMMAND}`));
        return;
      }
      reject(new Error(`wolfssl-bridge: wolfssl-bridge/build.sh failed; fix the C sources in wolfssl-bridge/src/:\n${output}`));
    });
  });
  build.catch(() => (build = undefined));
  return build;
}
