/**
 * The one place that picks the DTLS implementation for a profile: `dtls1.2` is the pion bridge
 * (RFC 6347, dtls-bridge/), `dtls1.3` the wolfSSL bridge (RFC 9147, wolfssl-bridge/). Both speak
 * the same events, control lines and plaintext framing, so every role above is the same code.
 */
import { dtlsBridgeArgs, ensureDtlsBridge, type AnyDtlsBridgeOptions, type UdpAddress } from './dtls-bridge-process.ts';
import { WOLFSSL_BRIDGE_PREBUILT_ENV, ensureWolfsslBridge, wolfsslBridgeArgs, type Dtls13Options } from './wolfssl-bridge.ts';

export const DTLS_VERSIONS = ['dtls1.2', 'dtls1.3'] as const;
export type DtlsVersion = (typeof DTLS_VERSIONS)[number];

/**
 * The version a role's bridge speaks when its options name none: the scenario's (the World sets
 * it, useDtlsVersion), and inside a role container the one the host passed in DTLS_VERSION_ENV.
 * Every scenario starts at dtls1.2 (the World's constructor), so no version outlives its scenario.
 */
export const DTLS_VERSION_ENV = 'TESTBED_DTLS_VERSION';
/** The scenario's DTLS 1.3 knobs (JSON), for bridges whose options name none. */
export const DTLS13_OPTIONS_ENV = 'TESTBED_DTLS13_OPTIONS';
let scenarioVersion: DtlsVersion = process.env[DTLS_VERSION_ENV] ? parseDtlsVersion(process.env[DTLS_VERSION_ENV]) : 'dtls1.2';
let scenarioDtls13: Dtls13Options = process.env[DTLS13_OPTIONS_ENV] ? (JSON.parse(process.env[DTLS13_OPTIONS_ENV]) as Dtls13Options) : {};

export function useDtlsVersion(version: DtlsVersion, dtls13: Dtls13Options = {}): void {
  if (version !== 'dtls1.3' && Object.keys(dtls13).length > 0) throw new Error('dtls-version: DTLS 1.3 options (HRR cookie, CID, early data, tickets) need version dtls1.3');
  scenarioVersion = version;
  scenarioDtls13 = dtls13;
}

/** What a role container must be told to speak the scenario's version (both bridges run prebuilt there). */
export function dtlsVersionEnvironment(): Record<string, string> {
  return { [WOLFSSL_BRIDGE_PREBUILT_ENV]: '1', [DTLS_VERSION_ENV]: scenarioVersion, [DTLS13_OPTIONS_ENV]: JSON.stringify(scenarioDtls13) };
}

export function currentDtlsVersion(): DtlsVersion {
  return scenarioVersion;
}

/** "DTLS 1.3" (as a feature says it) or "dtls1.3" (as a profile does) to the version. */
export function parseDtlsVersion(text: string): DtlsVersion {
  const m = /^\s*dtls\s*(1\.[23])\s*$/i.exec(text);
  if (!m) throw new Error(`unknown DTLS version "${text}"; say DTLS 1.2 (pion) or DTLS 1.3 (wolfSSL)`);
  return `dtls${m[1]}` as DtlsVersion;
}

/** The binary (built if needed) and command line for these options. */
export async function bridgeLaunch(options: AnyDtlsBridgeOptions, plain: { own: UdpAddress }): Promise<{ binary: string; args: string[] }> {
  // Fleet mode is the pion bridge's alone (DTLS 1.2): many sessions in one process.
  if (options.mode === 'fleet') return { binary: await ensureDtlsBridge(), args: dtlsBridgeArgs(options, plain) };
  if ((options.version ?? scenarioVersion) === 'dtls1.3') {
    const args = wolfsslBridgeArgs({ ...options, dtls13: options.dtls13 ?? scenarioDtls13 }, plain);
    return { binary: await ensureWolfsslBridge(), args };
  }
  if (options.dtls13) throw new Error('dtls-version: DTLS 1.3 options (dtls13) given to a DTLS 1.2 profile; set version: "dtls1.3" or drop them');
  const args = dtlsBridgeArgs(options, plain);
  return { binary: await ensureDtlsBridge(), args };
}
