/**
 * Entry point of every Node role in a container: reads the role's JSON config, starts the SAME
 * role classes the local topology runs (emulators/), and serves the role's observation log and
 * commands over HTTP/JSON on a Unix socket in the mounted control directory. The socket is the
 * only way in besides the role's own port: the role's networks stay internal, and the test
 * process never needs a route into them.
 *
 *   GET  /observations[?device=ID]   the role's observation log (wire.ts encoding)
 *   POST /report {deviceId, count}   wearables: connect if needed, report, return what was sent
 *   POST /settled {timeoutMs}        wearables: wait until every reading is acknowledged
 *   GET  /audit, GET /gaps?device=ID cloud service: audit entries, sequence gaps
 *   POST /stop                       stop the role, flush the key log, exit
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createPrivateKey } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pkiPaths, readPem } from '../certs/pki-files.ts';
import { KeyLog } from '../capture/keylog.ts';
import { Wearable } from '../emulators/wearable.ts';
import { Gateway } from '../emulators/gateway.ts';
import { TlsSessionCache } from '../emulators/tls-session-cache.ts';
import { connectTls } from '../emulators/tls-connect.ts';
import { CloudService } from '../emulators/cloud/cloud-service.ts';
import { DeviceRegistry } from '../emulators/cloud/device-registry.ts';
import { E3_TOPIC_FILTER } from '../emulators/cloud/cloud-broker.ts';
import { SimClock } from '../emulators/sim-clock.ts';
import { clientProfile, secureProfile, tlsClientOptions } from '../emulators/tls-client-profile.ts';
import type { EvidenceSink } from '../emulators/evidence.ts';
import { encodeWire } from './wire.ts';
import { maliceFromData } from './roles/malice-data.ts';
import { fleetRole } from './roles/fleet-role.ts';
import { ackFor, ackTopic } from '../emulators/dtls/cloud-acks.ts';
import { encodeAckDatagram } from '../emulators/dtls/reading-datagram.ts';
import { CONFIG_PATH, CONTROL_DIR, EVIDENCE_DIR, IDENTITY_DIR, PKI_DIR, READY_LINE, parseRoleConfig, type CloudServiceRole, type GatewayRole, type RoleConfig, type WearablesRole } from './role-config.ts';

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

type Handler = (body: Record<string, unknown>, query: URLSearchParams) => Promise<unknown>;

interface RunningRole {
  readonly routes: Record<string, Handler>;
  stop(): Promise<void>;
}

async function startWearables(config: WearablesRole, evidence: EvidenceSink): Promise<RunningRole> {
  const pki = pkiPaths(PKI_DIR);
  const caPem = readPem(pki.caBundle, 'the testbed CA bundle');
  const cloudE3PublicKeyPem = readPem(pki.cloudE3.publicKey, 'the cloud E3 public key');
  const clock = new SimClock(config.clock);
  const profile = clientProfile(config.profile);
  const fleet = new Map<string, Wearable>();
  for (const d of config.devices) {
    const files = pki.wearable(d.deviceId);
    fleet.set(
      d.deviceId,
      new Wearable({
        provisioning: d,
        deviceKeyPem: readPem(files.key, `the ${d.deviceId} device key`),
        deviceCertChainPem: readPem(files.chain, `the ${d.deviceId} certificate chain`),
        caPem,
        cloudE3PublicKeyPem,
        endpoint: config.endpoint,
        profile,
        clock,
        evidence,
        ...(config.commandHandler ? { commands: config.commandHandler } : {}),
      }),
    );
  }
  const role = fleetRole(fleet, (w) => w.log.ofKind('mqtt-connected').length > 0, (m) => new HttpError(404, m));
  if (!config.commandHandler) return role;
  // Device commands (issue 13): loaded only by a fleet that takes them.
  const { wearableCommandRoutes } = await import('./roles/command-routes.ts');
  return { ...role, routes: { ...role.routes, ...wearableCommandRoutes(fleet, (m) => new HttpError(404, m)) } };
}

async function startGateway(config: GatewayRole, evidence: EvidenceSink): Promise<RunningRole> {
  const pki = pkiPaths(PKI_DIR);
  const gateway = new Gateway({
    mode: config.mode,
    listen: { host: '0.0.0.0', port: config.listenPort },
    upstream: config.upstream,
    malice: config.malice.map(maliceFromData),
    certChainPem: readPem(pki.gateway.chain, 'the gateway certificate chain'),
    keyPem: readPem(pki.gateway.key, 'the gateway key'),
    caPem: readPem(pki.caBundle, 'the testbed CA bundle'),
    upstreamProfile: config.upstreamProfile ? clientProfile(config.upstreamProfile) : secureProfile,
    ...(config.upstreamSessions ? { upstreamSessions: new TlsSessionCache() } : {}),
    evidence,
  });
  await gateway.start();
  return { routes: { 'GET /observations': async () => gateway.log.all() }, stop: () => gateway.stop() };
}

async function startCloudService(config: CloudServiceRole, evidence: EvidenceSink): Promise<RunningRole> {
  const pki = pkiPaths(PKI_DIR);
  const registry = new DeviceRegistry();
  for (const d of config.devices) registry.register(d, readPem(pki.wearable(d.deviceId).cert, `the ${d.deviceId} device certificate`));
  const clock = new SimClock(config.clock);
  const service = new CloudService({
    registry,
    cloudE3PrivateKey: createPrivateKey(readPem(pki.cloudE3.privateKey, 'the cloud E3 private key')),
    nowSec: () => clock.nowSec(),
    auditFile: join(EVIDENCE_DIR, 'audit.jsonl'),
  });
  const tls = tlsClientOptions(secureProfile, {
    ca: readPem(pki.caBundle, 'the testbed CA bundle'),
    certChain: readPem(join(IDENTITY_DIR, 'client-chain.crt'), 'the cloud service certificate chain'),
    key: readPem(join(IDENTITY_DIR, 'client.key'), 'the cloud service key'),
    serverName: config.broker.serverName,
  });
  // Built like the wearable's client, so the service's TLS session keys reach the run's key log.
  const client = new mqtt.MqttClient(
    () => {
      const socket = connectTls(config.broker.host, config.broker.port, tls);
      evidence.tlsEndpoint('cloud-service', socket);
      return socket;
    },
    { protocolVersion: 4, clientId: 'cloud-service', clean: true, reconnectPeriod: 500, connectTimeout: 10_000, keepalive: 60 },
  );
  let commands: { routes: Record<string, Handler>; take(topic: string, payload: Uint8Array): boolean } | undefined;
  client.on('message', (topic, payload) => {
    if (commands?.take(topic, payload)) return; // a device's sealed command response (issue 13)
    // Mosquitto does not forward who published (MQTT 3.1.1 has no such field); the broker's
    // own log names the certificate identity of every publisher.
    const entry = service.ingest(payload, { topic, deliveredBy: 'Mosquitto (publisher identity in the broker log)' });
    // DTLS paths: UDP has no PUBACK to the device, so the cloud acknowledges on its own topic
    // (emulators/dtls/cloud-acks.ts), as the local DTLS topology's broker subscriber does.
    const ack = config.dtlsAcks ? ackFor(entry, (deviceId, sequence) => service.accepted(deviceId).some((e) => e.sequence === sequence)) : undefined;
    if (ack) client.publish(ackTopic(ack.pseudonymHex), Buffer.from(encodeAckDatagram(ack.pseudonymHex, [ack.sequence])), { qos: 0 });
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`role-runner: cloud service got no CONNACK/SUBACK from ${config.broker.host}:${config.broker.port} within 15 s`)), 15_000);
    client.once('connect', () => {
      client.subscribe(E3_TOPIC_FILTER, { qos: 1 }, (err, granted) => {
        clearTimeout(timer);
        if (err || granted?.[0]?.qos === 128) reject(new Error(`role-runner: the broker refused the cloud service's subscription to ${E3_TOPIC_FILTER} (${err?.message ?? 'SUBACK 0x80'}); check the ACL`));
        else resolve();
      });
    });
  });
  // Device commands (issue 13) come up beside the ready line, not before it: the start timeout
  // judges what every cloud service needs, and the command routes wait for this promise.
  const commandRole = config.commands
    ? import('./roles/command-routes.ts').then(async ({ cloudCommandRole }) => (commands = await cloudCommandRole({ client, registry, cloudE3PrivateKey: createPrivateKey(readPem(pki.cloudE3.privateKey, 'the cloud E3 private key')), nowSec: () => clock.nowSec(), evidenceDir: EVIDENCE_DIR })))
    : undefined;
  commandRole?.catch(() => undefined); // reported by the routes below, not as an unhandled rejection
  const commandRoute = (route: string): Handler => async (b, q) => ((await (commandRole as NonNullable<typeof commandRole>)).routes[route] as Handler)(b, q);
  return {
    routes: {
      ...(commandRole ? { 'POST /commands': commandRoute('POST /commands'), 'GET /command-responses': commandRoute('GET /command-responses') } : {}),
      'GET /observations': async () => service.log.all(),
      'GET /audit': async () => service.audit(),
      'GET /gaps': async (_b, q) => service.sequenceGaps(q.get('device') ?? ''),
    },
    stop: async () => {
      await client.endAsync(false).catch(() => client.end(true));
    },
  };
}

/**
 * Each container loads only its own role's code: tsx transpiles every module a container
 * imports as it starts, so a role module imported here by all of them would slow every start.
 */
async function startRole(config: RoleConfig, evidence: EvidenceSink): Promise<RunningRole> {
  if (config.role === 'wearables') return startWearables(config, evidence);
  if (config.role === 'gateway') return startGateway(config, evidence);
  if (config.role === 'cloud-service') return startCloudService(config, evidence);
  if (config.role === 'resumption-device') return (await import('./roles/resumption-device.ts')).startResumptionDevice(config, evidence);
  if (config.role === 'tcp-link') return (await import('./roles/tcp-link-relay.ts')).startTcpLinkRelay(config);
  if (config.role === 'mitm-proxy') return (await import('./roles/mitm-proxy.ts')).startMitmProxyRole(config);
  if (config.role === 'interception-victim') return (await import('./roles/interception-victim.ts')).startInterceptionVictim(config);
  if (config.role === 'probe') return (await import('./roles/probe.ts')).startProbe(config);
  if (config.role === 'firmware-fleet') return (await import('./roles/firmware-fleet.ts')).startFirmwareFleet(config);
  if (config.role === 'fleet-shard') return (await import('./roles/fleet-shard.ts')).startFleetShard(config);
  if (config.role === 'fleet-cloud') return (await import('./roles/fleet-cloud.ts')).startFleetCloud(config);
  if (config.role === 'first-flight-recorder') return (await import('./roles/first-flight-recorder.ts')).startFirstFlightRecorder(config);
  if (config.role === 'dtls-fleet-shard') return (await import('./roles/dtls-fleet-shard.ts')).startDtlsFleetShard(config);
  const dtls = await import('./roles/dtls-roles.ts');
  if (dtls.isDtlsRoleConfig(config)) return dtls.startDtlsRole(config, evidence);
  const interception = await import('./roles/dtls-interception.ts');
  if (interception.isDtlsInterceptionRole(config)) return interception.startDtlsInterceptionRole(config);
  const sessions = await import('./roles/dtls-sessions.ts');
  if (sessions.isDtlsSessionRole(config)) return sessions.startDtlsSessionRole(config);
  throw new Error(`role-runner: no role "${(config as { role: string }).role}" to start; the config validator and this list disagree`);
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) {
    text += (chunk as Buffer).toString();
    if (text.length > 1_000_000) throw new HttpError(413, 'request body over 1 MB');
  }
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

async function main(): Promise<void> {
  const configPath = process.argv[2] ?? CONFIG_PATH;
  const config = parseRoleConfig(readFileSync(configPath, 'utf8'), configPath);
  const keyLog = KeyLog.open(join(EVIDENCE_DIR, 'keylogs', `${config.role}.txt`));
  const role = await startRole(config, { tlsEndpoint: (_r, endpoint) => keyLog.attach(endpoint) });
  const socketPath = join(CONTROL_DIR, `${config.role}.sock`);
  rmSync(socketPath, { force: true });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await role.stop();
    await keyLog.close();
    server.close();
    setTimeout(() => process.exit(0), 50).unref();
  };
  const routes: Record<string, Handler> = { ...role.routes, 'POST /stop': async () => ({ stopped: true }) };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://role');
    const handler = routes[`${req.method} ${url.pathname}`];
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(encodeWire(body));
    };
    if (!handler) return reply(404, { error: `${config.role}: no ${req.method} ${url.pathname}; routes: ${Object.keys(routes).join(', ')}` });
    readBody(req)
      .then((body) => handler(body, url.searchParams))
      .then((result) => {
        reply(200, result);
        if (url.pathname === '/stop') void stop();
      })
      .catch((err: Error) => reply(err instanceof HttpError ? err.status : 500, { error: err.message }));
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  process.once('SIGTERM', () => void stop());
  console.log(`${READY_LINE} ${config.role} on ${socketPath}`);
}

main().catch((err: Error) => {
  // Messages of this file already say "role-runner: …"; others get the prefix once.
  console.error(err.message.startsWith('role-runner: ') ? err.message : `role-runner: ${err.message}`);
  process.exit(1);
});
