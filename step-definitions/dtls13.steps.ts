/**
 * DTLS 1.3 (RFC 9147) through the wolfSSL bridge (wolfssl-bridge/): the DTLS paths' own steps
 * with the version said in the sentence. The version-less steps (dtls.steps.ts) stay DTLS 1.2.
 */
import { Given, Then } from '@cucumber/cucumber';
import assert from 'node:assert/strict';
import { readPcap, udpFlows } from '../capture/pcap-reader.ts';
import { DTLS12_VERSION, DTLS13_VERSION, analyseDtls13Flow, describeDtls13Flights } from '../analysis/dtls13-handshake.ts';
import type { GatewayMalice } from '../emulators/gateway-malice.ts';
import { useDtlsVersion, type DtlsVersion } from '../emulators/dtls/dtls-version.ts';
import { ensureWolfsslBridge } from '../emulators/dtls/wolfssl-bridge.ts';
import { dtlsPath } from './dtls.steps.ts';
import { outcome, presentForgedCertificate } from './dtls-mitm.steps.ts';
import type { TestbedWorld } from './world.ts';

/**
 * The scenario's bridges speak `version`; a DTLS 1.3 scenario builds the wolfSSL bridge here, on
 * the host, before any role (local, or in a container from the /testbed mount) starts one.
 */
export async function speakDtls(world: TestbedWorld, version: DtlsVersion): Promise<void> {
  useDtlsVersion(version);
  world.attach(`DTLS version: ${version} (${version === 'dtls1.3' ? 'wolfSSL, RFC 9147' : 'pion, RFC 6347'})`, { mediaType: 'text/plain' });
  if (version === 'dtls1.3') await ensureWolfsslBridge();
}

Given('the wearables reach the cloud over {dtls version} through a gateway that strips DTLS', async function (this: TestbedWorld, version: DtlsVersion) {
  await speakDtls(this, version);
  dtlsPath(this, 'dtls-stripping-gateway');
});

Given('the wearables reach the cloud over {dtls version} through a gateway that strips DTLS and {malice}', async function (this: TestbedWorld, version: DtlsVersion, malice: GatewayMalice) {
  await speakDtls(this, version);
  dtlsPath(this, 'dtls-stripping-gateway', malice);
});

Given("the wearables reach the cloud's DTLS endpoint over {dtls version} with a pre-shared key, through an on-path attacker that holds the key and {malice}", async function (this: TestbedWorld, version: DtlsVersion, malice: GatewayMalice) {
  await speakDtls(this, version);
  dtlsPath(this, 'dtls-psk-attacker', malice);
});

/**
 * The version on the wire, from the capture alone: every handshake's ServerHello selects it
 * (DTLS 1.3: supported_versions 0xfefc, RFC 9147 §5.3; DTLS 1.2: 0xfefd), and the readings
 * travel in that version's records (DTLS 1.3: unified-header records of epoch 3 and up).
 */
Then('the {word} capture shows {dtls version} on the wire: every ServerHello selects it and the readings travel in its records', async function (this: TestbedWorld, link: string, version: DtlsVersion) {
  const evidence = await this.finish();
  const capture = evidence?.captures.find((c) => c.link === link);
  if (!capture) throw new Error(`no capture for link "${link}"; links captured: ${evidence?.captures.map((c) => c.link).join(', ')}`);
  const flows = udpFlows(readPcap(capture.path).packets);
  assert.ok(flows.length > 0, `capture ${capture.path} holds no UDP flow`);
  const wanted = version === 'dtls1.3' ? DTLS13_VERSION : DTLS12_VERSION;
  let readingsRecords = 0;
  for (const flow of flows) {
    const a = analyseDtls13Flow(flow);
    const shown = describeDtls13Flights(a).slice(0, 8).join('\n  ');
    assert.equal(a.selectedVersion, wanted, `flow ${flow.a.port}→${flow.b.port}: the ServerHello selected 0x${(a.selectedVersion ?? 0).toString(16)}, not ${version} (0x${wanted.toString(16)}):\n  ${shown}`);
    const data = a.flights.filter((f) => f.direction === 'client-to-server').flatMap((f) => f.messages);
    const ownRecords = data.filter((m) => (version === 'dtls1.3' ? m === 'application data' || m === 'early data' : m === 'application data (DTLS 1.2 record)')).length;
    const foreign = data.filter((m) => (version === 'dtls1.3' ? m === 'application data (DTLS 1.2 record)' : m === 'application data' || m === 'early data')).length;
    assert.equal(foreign, 0, `flow ${flow.a.port}→${flow.b.port}: ${foreign} data records of the other DTLS version:\n  ${shown}`);
    readingsRecords += ownRecords;
  }
  assert.ok(readingsRecords >= this.sent.length, `${readingsRecords} ${version} data records from the device for ${this.sent.length} readings`);
  this.attach(flows.map((f) => describeDtls13Flights(analyseDtls13Flow(f)).join('\n')).join('\n\n'), { mediaType: 'text/plain', fileName: `${link}-flights.txt` });
});

Given("a {dtls version} MITM on the wearable's path to the cloud presenting the {forged certificate}", async function (this: TestbedWorld, version: DtlsVersion, forgedCase: string) {
  await speakDtls(this, version);
  presentForgedCertificate(this, forgedCase);
});

/** The attempt's own capture: the MITM's ServerHello (sent before the client judges the certificate) selects the version. */
Then('the capture beside the DTLS client shows {dtls version} selected', function (this: TestbedWorld, version: DtlsVersion) {
  const o = outcome(this);
  const wanted = version === 'dtls1.3' ? DTLS13_VERSION : DTLS12_VERSION;
  const analyses = udpFlows(readPcap(o.capture).packets).map((f) => analyseDtls13Flow(f));
  const selected = analyses.map((a) => a.selectedVersion).filter((v): v is number => v !== undefined);
  assert.ok(selected.length > 0, `no ServerHello in ${o.capture}:\n  ${analyses.flatMap(describeDtls13Flights).join('\n  ')}`);
  for (const v of selected) assert.equal(v, wanted, `a ServerHello selected 0x${v.toString(16)}, not ${version} (0x${wanted.toString(16)})`);
});
