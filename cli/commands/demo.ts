/**
 * `testbed demo ATTACK`: a narrated attack for a live audience. `demo mitm` runs one forged
 * certificate against one client on loopback and tells, step by step, what the attacker saw —
 * then leaves the pcap and key log for Wireshark.
 */
import { resolve, join } from 'node:path';
import type { Command } from '../main.ts';
import { parseOptions, UsageError } from './options.ts';
import { demoEvidenceLines } from '../demo-evidence.ts';
import { FORGED_CASE_NAMES } from '../../certs/forged-catalogue.ts';
import { attemptInterception, checkClientName, checkForgedCaseName, matrixClientNames, type InterceptionOutcome } from '../../topology/mitm-rig.ts';
import { clientProfiles } from '../../emulators/tls-client-profile.ts';
import { cipherSuiteName, TLS_VERSION_NAMES, type ClientHello } from '../../analysis/tls-client-hello.ts';

const ATTACKS = ['mitm'] as const;

const EXTERNAL_EXPLAIN: Record<string, string> = {
  mosquitto_pub: 'mosquitto_pub (Debian mosquitto-clients) with the device certificate, connecting by address',
  'openssl-s_client': "openssl s_client with the source chapter's E4 command line (§17.3.1)",
  'openssl-strict': 'openssl s_client with -verify_return_error -verify_hostname -crl_check added',
};

export function narrate(o: InterceptionOutcome): string[] {
  const start = o.proxy[0]?.at ?? 0;
  const t = (at: number) => `+${String(at - start).padStart(4)} ms`;
  const lines: string[] = [];
  for (const p of o.proxy) {
    if (p.kind === 'listening') lines.push(`${t(p.at)}  the attacker waits on the victim's path (${p.summary})`);
    if (p.kind === 'client-hello') {
      const h = p.detail.hello as ClientHello | undefined;
      lines.push(
        h
          ? `${t(p.at)}  the victim says hello in clear: server name "${h.serverName ?? '(none)'}", versions ${h.versions.map((v) => TLS_VERSION_NAMES[v] ?? v).join('/')}, suites ${h.cipherSuites.map(cipherSuiteName).join(', ')}`
          : `${t(p.at)}  ${p.summary}`,
      );
    }
    if (p.kind === 'handshake-failed') lines.push(`${t(p.at)}  the victim REFUSED the forged certificate: ${String(p.detail.message).split('\n')[0]}`);
    if (p.kind === 'handshake-complete') lines.push(`${t(p.at)}  the victim ACCEPTED the forged certificate (${String(p.detail.protocol)}, ${String(p.detail.cipher)}): the attacker is now inside the TLS session`);
    if (p.kind === 'attack' && p.detail.clientId !== undefined) lines.push(`${t(p.at)}  the attacker reads MQTT CONNECT: ${p.summary.replace(/^harvested CONNECT: /, '')}`);
    if (p.kind === 'mqtt-packet' && p.detail.cmd === 'publish') {
      const bytes = p.bytes ?? new Uint8Array();
      lines.push(`${t(p.at)}  the attacker reads PUBLISH ${String(p.detail.topic)}: ${bytes.length} bytes ${Buffer.from(bytes.subarray(0, 24)).toString('hex')}…`);
      lines.push(`            — an E3 packet: pseudonym and timestamp in clear, the reading sealed with AES-GCM under a key only the cloud holds`);
    }
  }
  return lines;
}

/** A name check's error as a usage error: the fix is on the command line. */
function checked(check: (name: string) => string, flag: string, name: string): string {
  try {
    return check(name);
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`);
  }
}

export const demoCommand: Command = {
  summary: 'narrated attack demonstration (mitm: one forged certificate against one client)',
  usage: 'demo mitm --cert CASE --client CLIENT [--verbose]',
  async run(args) {
    const [attack, ...rest] = args;
    const help = () => `usage: testbed ${this.usage}\nforged certificates: ${FORGED_CASE_NAMES.join(', ')}\nclients: ${matrixClientNames().join(', ')}`;
    if (!attack || attack === '--help' || attack === '-h') {
      if (!attack) {
        console.error(`testbed demo: name the attack to demonstrate (attacks: ${ATTACKS.join(', ')})\nusage: testbed ${this.usage}`);
        return 2;
      }
      console.log(help());
      return 0;
    }
    if (!(ATTACKS as readonly string[]).includes(attack)) throw new UsageError(`unknown attack "${attack}"; attacks: ${ATTACKS.join(', ')}\nusage: testbed ${this.usage}`);
    const { values } = parseOptions('demo', this.usage, rest, {
      cert: { type: 'string', default: 'self-signed' },
      client: { type: 'string', default: 'no-verify' },
      verbose: { type: 'boolean', default: false },
    });
    if (values.help) {
      console.log(help());
      return 0;
    }
    const forgedCase = checked(checkForgedCaseName, '--cert', values.cert);
    const client = checked(checkClientName, '--client', values.client);
    const runDir = resolve('runs', `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    // Progress on stderr: stdout opens with the verdict, so `| head -1` answers "did it hold?".
    console.error(`preparing a fresh PKI and the forged-certificate catalogue, then the "${forgedCase}" MITM against "${client}" …`);
    const o = await attemptInterception({ runDir, dir: join(runDir, `${forgedCase}-${client}`), forgedCase, client, readings: 2 });
    const intercepted = o.proxy.some((p) => p.kind === 'handshake-complete') && o.plaintextBytes > 0;
    console.log(
      intercepted
        ? `INTERCEPTED: the "${client}" client accepted the "${forgedCase}" certificate; the attacker read ${o.plaintextBytes} plaintext bytes — the device's MQTT identity and every topic — yet no reading: E3 kept them sealed.`
        : `BLOCKED: the "${client}" client refused the "${forgedCase}" certificate${o.attempt.error ? ` (${o.attempt.error.split('\n')[0]})` : ''}${o.alertSeenByMitm ? `, sending "${o.alertSeenByMitm}"` : ''}; the attacker obtained ${o.plaintextBytes} application bytes.`,
    );
    console.log(`\nDemo: a man-in-the-middle presents the "${forgedCase}" certificate to the "${client}" client.`);
    console.log(`  client: ${clientProfiles.get(client)?.explain ?? EXTERNAL_EXPLAIN[client] ?? client}`);
    console.log(`  the forgery: ${o.explain}\n`);
    for (const line of narrate(o)) console.log(line);
    console.log(`\n${demoEvidenceLines(o.capture, o.keyLog).join('\n')}`);
    if (o.attempt.transcript) {
      console.log(values.verbose
        ? `\nwhat the client printed:\n${o.attempt.transcript.split('\n').map((l) => `  ${l}`).join('\n')}`
        : '\n(the client\'s own output: add --verbose)');
    }
    return 0;
  },
};
