/**
 * Ready-to-paste command lines for clients of your own against a running graph: what `up`
 * prints. Each names the run's real files and ports, so it works as pasted.
 */
import { e3Topic } from '../emulators/wearable.ts';
import type { DeviceProvisioning } from '../emulators/provisioning.ts';
import type { ReachableEndpoint } from './published-endpoints.ts';
import type { UpEvidence, UpPki } from './up.ts';

const q = (s: string): string => (/^[\w./:=,@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export interface ClientLines {
  readonly mosquittoPub?: string;
  readonly mosquittoSub?: string;
  readonly opensslSClient: Readonly<Record<string, string>>;
  readonly tshark: Readonly<Record<string, string>>;
  /** Per link: its live capture into Wireshark, the TLS secrets inside the stream (`testbed tail capture`). */
  readonly wireshark: Readonly<Record<string, string>>;
  readonly seal: string;
  readonly tailAudit: string;
}

/**
 * The source chapter's E4 line (§17.3.1: `openssl s_client -connect … -CAfile … -cert … -key …
 * -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256`), with the server
 * name the role's certificate carries. Note what it lacks: without -verify_return_error s_client
 * reports a failed verification and carries on (features/mitm-certificate-validation.feature).
 */
export function chapterSClientArgs(e: ReachableEndpoint, pki: UpPki): string[] {
  const d = pki.externalDevice;
  return ['s_client', '-connect', `${e.host}:${e.port}`, '-CAfile', pki.caBundle, '-cert', d.chain, '-key', d.key, '-tls1_3', '-ciphersuites', 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256', '-servername', e.serverName];
}

/** mosquitto_pub / mosquitto_sub arguments for the external device (TLS 1.3, mutual TLS). */
export function mosquittoArgs(e: ReachableEndpoint, pki: UpPki, device = pki.externalDevice.id): string[] {
  const files = pki.devices[device];
  if (!files) throw new Error(`the run has no device "${device}"; devices: ${Object.keys(pki.devices).join(', ')}`);
  return ['-h', e.host, '-p', String(e.port), '--cafile', pki.caBundle, '--cert', files.chain, '--key', files.key, '--tls-version', 'tlsv1.3', '-i', `${device}-external`, '-V', 'mqttv311'];
}

/** The link's live pcapng stream (key log embedded) into Wireshark, with decode-as for the real ports. */
export function wiresharkLine(link: string, ports: readonly number[]): string {
  const decode = [...new Set(ports)].flatMap((p) => ['-d', `tcp.port==${p},tls`, '-d', `tls.port==${p},mqtt`]);
  return ['testbed', 'tail', 'capture', link, '|', 'wireshark', '-k', '-i', '-', ...decode].join(' ');
}

/** tshark with the key log and decode-as for every port the captures show TLS on. */
export function tsharkLine(capture: string, keyLog: string, ports: readonly number[]): string {
  const decode = [...new Set(ports)].flatMap((p) => ['-d', `tcp.port==${p},tls`, '-d', `tls.port==${p},mqtt`]);
  return ['tshark', '-r', q(capture), '-o', q(`tls.keylog_file:${keyLog}`), ...decode].join(' ');
}

export function clientLines(o: { endpoints: readonly ReachableEndpoint[]; pki: UpPki; evidence: UpEvidence; devices: readonly DeviceProvisioning[]; capturePorts: readonly number[] }): ClientLines {
  const device = o.devices.find((d) => d.deviceId === o.pki.externalDevice.id);
  const gateway = o.endpoints.find((e) => e.role === 'gateway' && e.protocol === 'tcp');
  const broker = o.endpoints.find((e) => e.role === 'cloud-broker');
  const other = o.devices.find((d) => d.deviceId !== o.pki.externalDevice.id);
  const sealed = `testbed seal --up --device ${o.pki.externalDevice.id} --raw > /tmp/e3.bin`;
  return {
    ...(gateway && device ? { mosquittoPub: `${sealed} && mosquitto_pub ${mosquittoArgs(gateway, o.pki).map(q).join(' ')} -t ${q(e3Topic(device.pseudonymHex))} -f /tmp/e3.bin -q 1` } : {}),
    // Another wearable's topic: the broker's ACL lets a device write only its own topic and read none.
    ...(broker && other ? { mosquittoSub: `mosquitto_sub ${mosquittoArgs(broker, o.pki).map(q).join(' ')} -t ${q(e3Topic(other.pseudonymHex))} -C 1 -W 5 -d` } : {}),
    opensslSClient: Object.fromEntries(o.endpoints.filter((e) => e.protocol === 'tcp').map((e) => [e.role, ['openssl', ...chapterSClientArgs(e, o.pki)].map(q).join(' ')])),
    tshark: Object.fromEntries(o.evidence.captures.map((c) => [c.link, tsharkLine(c.path, o.evidence.keyLog, o.capturePorts)])),
    wireshark: Object.fromEntries(o.evidence.captures.map((c) => [c.link, wiresharkLine(c.link, o.capturePorts)])),
    seal: `testbed seal --up --device ${o.pki.externalDevice.id} --hex`,
    tailAudit: 'testbed tail audit',
  };
}
