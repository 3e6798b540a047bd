/**
 * Domain words of the scenarios, turned into domain objects (STYLE.md: cucumber-js parameter
 * types), so steps read like an analyst's sentences and a typo fails with the valid choices.
 */
import { defineParameterType } from '@cucumber/cucumber';
import { parseDtlsVersion, type DtlsVersion } from '../emulators/dtls/dtls-version.ts';
import { drop, replay, sniff, tamper, type GatewayMalice } from '../emulators/gateway-malice.ts';
import { clientProfile, type TlsClientProfile } from '../emulators/tls-client-profile.ts';
import type { E3RejectionReason } from '../crypto/e3-opener.ts';
import { checkClientName, checkForgedCaseName, GENUINE_CLOUD_CERTIFICATE } from '../topology/mitm-rig.ts';
import { FIRMWARE_PROFILES, type FirmwareProfile } from '../firmware/firmware-image.ts';

/** "5", "4 and 7", "2, 3 and 9" → [5], [4, 7], [2, 3, 9] */
export function readingNumbers(text: string): number[] {
  return text
    .split(/,|\band\b/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1) throw new Error(`"${s}" is not a reading number; use whole numbers from 1, e.g. "readings 4 and 7"`);
      return n;
    });
}

const NUMBERS = String.raw`\d+(?:(?:, | and )\d+)*`;

defineParameterType({
  name: 'malice',
  regexp: new RegExp(String.raw`only sniffs|tampers with readings? ${NUMBERS}|replays readings? ${NUMBERS}|drops readings? ${NUMBERS}`),
  transformer: (text: string): GatewayMalice => {
    const numbers = () => readingNumbers(text.replace(/^\D+/, ''));
    if (text === 'only sniffs') return sniff();
    if (text.startsWith('tampers')) return tamper({ packets: numbers() });
    if (text.startsWith('replays')) return replay({ packets: numbers() });
    return drop({ packets: numbers() });
  },
});

defineParameterType({
  name: 'profile',
  regexp: /"([^"]*)" profile/,
  transformer: (name: string): TlsClientProfile => clientProfile(name),
});

const REASONS: readonly E3RejectionReason[] = ['length', 'unknown pseudonym', 'bad tag', 'replay', 'stale timestamp'];

defineParameterType({
  name: 'rejection reason',
  regexp: /"([^"]*)"/,
  transformer: (reason: string): E3RejectionReason => {
    if (!(REASONS as readonly string[]).includes(reason)) throw new Error(`unknown rejection reason "${reason}"; valid reasons: ${REASONS.map((r) => `"${r}"`).join(', ')}`);
    return reason as E3RejectionReason;
  },
});

defineParameterType({
  name: 'gateway mode',
  regexp: /terminates TLS|only relays TCP/,
  transformer: (text: string) => (text === 'terminates TLS' ? ('terminating-gateway' as const) : ('relay-gateway' as const)),
});

defineParameterType({
  name: 'device',
  regexp: /wearable-\d{4}/,
  transformer: (id: string) => id,
});

defineParameterType({
  name: 'forged certificate',
  regexp: /"([a-z0-9-]+)" forged certificate/,
  // The genuine cloud certificate is the matrix's control: without it, a client that refused
  // everything would pass every "blocked" row.
  transformer: (name: string) => (name === GENUINE_CLOUD_CERTIFICATE ? name : checkForgedCaseName(name)),
});

defineParameterType({
  name: 'client',
  regexp: /"([a-z0-9_-]+)" client/,
  transformer: (name: string) => checkClientName(name),
});

defineParameterType({
  name: 'interception result',
  regexp: /blocked|intercepted/,
  transformer: (s: string) => s as 'blocked' | 'intercepted',
});

defineParameterType({
  name: 'speed-up',
  // Time compression of the source chapter's 30 s interval: "20× speed" (simulated s per wall s).
  regexp: /(\d+)× speed/,
  transformer: (n: string): number => {
    const speedup = Number(n);
    if (!Number.isInteger(speedup) || speedup < 1 || speedup > 100_000) throw new Error(`"${n}× speed" is not a usable speed-up; use a whole number from 1 to 100000, e.g. "20× speed"`);
    return speedup;
  },
});

defineParameterType({
  // A role of a running (`testbed up`) graph that a client of your own can reach from this machine.
  name: 'reachable role',
  regexp: /the gateway|the cloud broker|the MITM on the gateway→cloud link|the MITM on the device link/,
  transformer: (s: string): 'gateway' | 'cloud-broker' | 'mitm-proxy' => (s === 'the gateway' ? 'gateway' : s === 'the cloud broker' ? 'cloud-broker' : 'mitm-proxy'),
});

defineParameterType({
  // "DTLS 1.2" (pion) or "DTLS 1.3" (wolfSSL): the version a DTLS path speaks (emulators/dtls/dtls-version.ts).
  // Never bare "DTLS": the version-less steps keep their own wording.
  name: 'dtls version',
  regexp: /DTLS 1\.[23]/,
  transformer: (s: string): DtlsVersion => parseDtlsVersion(s),
});

defineParameterType({
  name: 'firmware profile',
  regexp: /"([a-z-]+)" firmware/,
  // How the fleet's images carry credentials (firmware/firmware-image.ts, source chapter §17.5).
  transformer: (name: string): FirmwareProfile => {
    if (!(FIRMWARE_PROFILES as readonly string[]).includes(name)) throw new Error(`unknown firmware profile "${name}"; use ${FIRMWARE_PROFILES.map((p) => `"${p}"`).join(' or ')}`);
    return name as FirmwareProfile;
  },
});

defineParameterType({
  // RFC 9146 / RFC 9147 §9: whether the DTLS 1.3 ends negotiate a Connection ID (features/dtls13-connection-id.feature).
  name: 'connection ids',
  regexp: /with(?:out)? Connection IDs/,
  transformer: (s: string): boolean => s === 'with Connection IDs',
});

defineParameterType({
  // The versions a wolfSSL DTLS server accepts (wolfssl-bridge --versions): DTLS 1.3 only, or 1.3 with a fall-back to 1.2.
  name: 'dtls server versions',
  regexp: /DTLS 1\.3-only|downgrade-capable/,
  transformer: (s: string): '1.3' | '1.2-1.3' => (s === 'DTLS 1.3-only' ? '1.3' : '1.2-1.3'),
});

defineParameterType({
  // What wearable-0001's DTLS client offers: pion's DTLS 1.2 only, or wolfSSL's DTLS 1.3 with 1.2 as a fall-back.
  name: 'dtls client offer',
  regexp: /a DTLS 1\.2-only client \(pion\)|a client offering DTLS 1\.3 and 1\.2 \(wolfSSL\)/,
  transformer: (s: string): 'dtls1.2-only' | 'dtls1.3-and-1.2' => (s.startsWith('a DTLS 1.2-only') ? 'dtls1.2-only' : 'dtls1.3-and-1.2'),
});

defineParameterType({
  // RFC 8446 §8.1: whether the wolfSSL front lets each session ticket resume once (features/zero-rtt-mqtt.feature).
  name: 'ticket policy',
  regexp: /with(?:out)? single-use tickets/,
  transformer: (s: string): boolean => s === 'with single-use tickets',
});

defineParameterType({
  // What the wolfSSL front did with a replayed 0-RTT first flight's early data (features/zero-rtt-mqtt.feature).
  name: 'front verdict',
  regexp: /accepted|refused/,
  transformer: (s: string): boolean => s === 'accepted',
});

defineParameterType({
  // A share of datagrams a link impairs (links/impairments.ts rates): "10%" is 0.1.
  name: 'percentage',
  regexp: /(\d+)%/,
  transformer: (n: string): number => {
    const percent = Number(n);
    if (!Number.isInteger(percent) || percent < 1 || percent > 50) throw new Error(`"${n}%" is not a usable share of datagrams; use a whole number from 1 to 50, e.g. "10%" (above 50% DTLS handshakes rarely finish)`);
    return percent / 100;
  },
});
