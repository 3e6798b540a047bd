/**
 * The cloud broker in containers: Mosquitto, a real broker (docs/architecture.md §3 Roles, §5), configured like
 * the in-process Aedes broker it replaces: TLS 1.3 with mutual TLS (RFC 8446 §4.3.2
 * CertificateRequest; `require_certificate`), the client's certificate CN as its username
 * (`use_identity_as_username`, so no client can claim another identity in CONNECT), Nagle off
 * (`set_tcp_nodelay`: otherwise ~40 ms per small packet, docs/architecture.md §5 Transports), and an ACL mirroring
 * cloud-broker.ts: each wearable writes only its own E3 topic, the gateway any wearable's
 * E3 topic, and only the cloud service reads them.
 *
 * Its observation log is its own log (log_type all), parsed into observations.
 */
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AbstractStartedContainer, type StartedTestContainer } from 'testcontainers';
import type { DeviceProvisioning } from '../emulators/provisioning.ts';
import type { Observation } from '../emulators/observation-log.ts';
import { e3Topic } from '../emulators/wearable.ts';
import { COMMAND_TOPIC_FILTER, RESPONSE_TOPIC_FILTER, commandTopic, responseTopic } from '../emulators/commands/command-topics.ts';
import { E3_TOPIC_FILTER } from '../emulators/cloud/cloud-broker.ts';
import { ACK_TOPIC_FILTER } from '../emulators/dtls/cloud-acks.ts';
import { docker } from './docker-cli.ts';
import { TestbedContainer } from './testbed-container.ts';
import { MQTT_PLAIN_PORT, MQTT_TLS_PORT, PKI_DIR } from './role-config.ts';

const CONFIG_DIR = '/mosquitto';
/** The hard-coded-credentials listener: MQTT over TLS, server certificate only, username and password. */
export const MQTT_PASSWORD_TLS_PORT = 8884;
const STARTUP_TIMEOUT_MS = 20_000;
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Mosquitto 2.0's `tls_version`: the LOWEST version a listener accepts; it has no value for TLS 1.0. */
export type MosquittoTlsVersion = 'tlsv1.3' | 'tlsv1.2' | 'tlsv1.1';
const MOSQUITTO_TLS_VERSIONS: readonly MosquittoTlsVersion[] = ['tlsv1.3', 'tlsv1.2', 'tlsv1.1'];
const OPENSSL_CIPHER_LIST = /^[A-Za-z0-9_:+\-@=!.]+$/;

export class CloudBrokerContainer extends TestbedContainer {
  static readonly MQTT_TLS_PORT = MQTT_TLS_PORT;
  static readonly MQTT_PLAIN_PORT = MQTT_PLAIN_PORT;
  #devices: readonly DeviceProvisioning[] = [];
  #gatewayUser: string | undefined;
  #subscriberUser: string | undefined;
  #tlsVersion: MosquittoTlsVersion = 'tlsv1.3';
  #configDir: string | undefined;
  #pki = false;
  #plainPasswords: ReadonlyMap<string, string> | undefined;
  #fleetAccount: { readonly username: string; readonly password: string } | undefined;
  #crlPem: string | undefined;
  #dtlsAcks = false;
  #deviceCommands = false;
  #tcpNoDelay = true;
  #ciphers: { readonly ciphers: string; readonly ciphersuites: string } | undefined;
  #openSsl: Readonly<Record<string, string>> | undefined;
  #persistentSessions = false;
  #maxQueued = 1_000;
  #persistenceLocation = '/tmp/';
  #packetLog = true;

  /** Each wearable may publish only to its own E3 topic. */
  withDevices(devices: readonly DeviceProvisioning[]): this {
    for (const d of devices) if (!USERNAME.test(d.deviceId)) throw new Error(`CloudBrokerContainer: device id "${d.deviceId}" cannot be a Mosquitto username`);
    this.#devices = devices;
    return this;
  }

  /** The gateway's certificate CN: it may publish to any wearable's E3 topic. */
  withGateway(commonName: string): this {
    if (!USERNAME.test(commonName)) throw new Error(`CloudBrokerContainer: gateway CN "${commonName}" cannot be a Mosquitto username`);
    this.#gatewayUser = commonName;
    return this;
  }

  /** The cloud service's certificate CN: the only reader of the readings. */
  withSubscriber(commonName: string): this {
    if (!USERNAME.test(commonName)) throw new Error(`CloudBrokerContainer: subscriber CN "${commonName}" cannot be a Mosquitto username`);
    this.#subscriberUser = commonName;
    return this;
  }

  /** Lowest TLS version accepted; TLS 1.3 by default (source chapter §17.3.1). */
  withTlsVersion(version: MosquittoTlsVersion): this {
    if (!MOSQUITTO_TLS_VERSIONS.includes(version)) throw new Error(`CloudBrokerContainer: TLS version must be one of ${MOSQUITTO_TLS_VERSIONS.map((v) => `"${v}"`).join(', ')} (Mosquitto 2.0 has none lower), got "${String(version)}"`);
    this.#tlsVersion = version;
    return this;
  }

  /**
   * Also listen for MQTT in clear on MQTT_PLAIN_PORT (1883), username and password only: the
   * pitfall the plaintext scenario demonstrates (source chapter §17.5). Off unless asked for.
   */
  withPlainListener(passwords: ReadonlyMap<string, string>): this {
    for (const [user, password] of passwords) {
      if (!USERNAME.test(user)) throw new Error(`CloudBrokerContainer: "${user}" cannot be a Mosquitto username`);
      if (!password || password.includes('\n')) throw new Error(`CloudBrokerContainer: the password of ${user} must be one non-empty line`);
    }
    this.#plainPasswords = passwords;
    return this;
  }

  /**
   * The hard-coded-credentials pitfall (source chapter §17.5): one username and password in every
   * device's firmware, checked against the password file on a second TLS listener
   * (MQTT_PASSWORD_TLS_PORT) that asks for no client certificate; the ACL lets that one account
   * write every E3 topic, as such a fleet's broker must (emulators/cloud/cloud-broker.ts fleetAccount).
   */
  withFleetAccount(account: { readonly username: string; readonly password: string }): this {
    if (!USERNAME.test(account.username)) throw new Error(`CloudBrokerContainer: "${account.username}" cannot be a Mosquitto username`);
    if (!account.password || account.password.includes('\n')) throw new Error('CloudBrokerContainer: the fleet password must be one non-empty line');
    this.#fleetAccount = account;
    return this;
  }

  /** withCrl when there is a CRL (the fleet checks one only when its scenario revokes). */
  withCrlIf(crlPem: string | undefined): this {
    return crlPem === undefined ? this : this.withCrl(crlPem);
  }

  /** Revoked client certificates: the mTLS listener checks them against these CRLs (`crlfile`). */
  withCrl(crlPem: string): this {
    if (!crlPem.includes('-----BEGIN X509 CRL-----')) throw new Error('CloudBrokerContainer: withCrl takes PEM CRLs ("-----BEGIN X509 CRL-----")');
    this.#crlPem = crlPem;
    return this;
  }

  withPlainListenerIf(enabled: boolean, passwords: ReadonlyMap<string, string>): this {
    return enabled ? this.withPlainListener(passwords) : this;
  }

  /**
   * Nagle's algorithm (RFC 896) off (`set_tcp_nodelay true`, the default here) or left on: only
   * to show what it costs (features/nagle-penalty.feature).
   */
  withTcpNoDelay(enabled: boolean): this {
    this.#tcpNoDelay = enabled;
    return this;
  }

  /**
   * TLS settings mosquitto.conf cannot express (it has no option for key-share groups or for
   * turning session tickets off), as OpenSSL SSL_CONF commands (SSL_CONF_cmd(3): "Groups",
   * "Options") in the system_default section of an openssl.cnf that OPENSSL_CONF points to;
   * OpenSSL applies them to every SSL_CTX Mosquitto creates.
   */
  withOpenSslSettings(settings: Readonly<Record<string, string>>): this {
    for (const [k, v] of Object.entries(settings)) {
      if (!/^[A-Za-z]+$/.test(k) || !/^[A-Za-z0-9:+\-_.,=@ ]+$/.test(v)) throw new Error(`CloudBrokerContainer: OpenSSL setting "${k} = ${v}" is not an SSL_CONF command and value (e.g. Groups = P-256, Options = -SessionTicket)`);
    }
    this.#openSsl = settings;
    return this;
  }

  /**
   * The listener's cipher lists, as OpenSSL takes them: `ciphers` for TLS 1.2 and below,
   * `ciphers_tls1.3` for TLS 1.3 suites (emulators/tls-server-policy.ts holds them as data).
   */
  withCiphers(ciphers: string, ciphersuites: string): this {
    for (const list of [ciphers, ciphersuites]) if (!OPENSSL_CIPHER_LIST.test(list)) throw new Error(`CloudBrokerContainer: "${list}" is not an OpenSSL cipher list (names joined by ':', e.g. ECDHE-ECDSA-AES128-GCM-SHA256:@SECLEVEL=0)`);
    this.#ciphers = { ciphers, ciphersuites };
    return this;
  }

  /**
   * Keep persistent sessions and their queued QoS 1 messages across a restart (the fleet's broker
   * restart): Mosquitto writes its in-memory store to `persistence_location` when it stops
   * (SIGTERM) and reads it back at start (mosquitto.conf(5) "persistence"). The container's own
   * file system survives `docker restart`. A persistent client's queue is bounded, never dropped
   * silently at the default 1,000: a fleet's subscriber may be away for a whole restart storm.
   * `location`: where the store is written; on swarm a mounted directory, since a task restart
   * makes a new container (topology/swarm-fleet.ts).
   */
  withPersistentSessions(maxQueuedMessages = 200_000, location = '/tmp/'): this {
    if (!Number.isInteger(maxQueuedMessages) || maxQueuedMessages < 1) throw new Error(`CloudBrokerContainer: maxQueuedMessages must be a whole number from 1, got ${maxQueuedMessages}`);
    if (!/^\/[A-Za-z0-9_./-]*\/$/.test(location)) throw new Error(`CloudBrokerContainer: the persistence location must be an absolute directory ending in '/', got "${location}"`);
    this.#persistentSessions = true;
    this.#maxQueued = maxQueuedMessages;
    this.#persistenceLocation = location;
    return this;
  }

  /** Leave every packet's debug line out of the log (a fleet sends thousands a second); connections and errors stay. */
  withoutPacketLog(): this {
    this.#packetLog = false;
    return this;
  }
  /** DTLS paths: the subscriber may publish acknowledgements that the gateway user reads (cloud-acks.ts). */
  /**
   * Cloud→device commands (issue 13): each device reads only its own command topic and writes
   * only its own response topic; the gateway forwards both for any device; the cloud service
   * writes commands and reads responses. Mirrors cloud-broker.ts (Aedes).
   */
  withDeviceCommandsIf(on: boolean): this {
    this.#deviceCommands = on;
    return this;
  }

  withDtlsAcks(): this {
    this.#dtlsAcks = true;
    return this;
  }

  /** The run's PKI (server chain, key, CA bundle), mounted read-only. */
  withPki(dir: string): this {
    this.#pki = true;
    return this.mount(...([{ source: dir, target: PKI_DIR, mode: 'ro' }] as const));
  }

  /** A host directory for mosquitto.conf and the ACL (kept as evidence). */
  withConfigDir(dir: string): this {
    this.#configDir = dir;
    return this.mount(...([{ source: dir, target: CONFIG_DIR, mode: 'ro' }] as const));
  }

  configuration(): string {
    return [
      '# Written by containers/cloud-broker-container.ts for one run.',
      'per_listener_settings false',
      ...(this.#persistentSessions ? ['persistence true', `persistence_location ${this.#persistenceLocation}`, `max_queued_messages ${this.#maxQueued}`, 'max_inflight_messages 100'] : ['persistence false']),
      // The keys are 0600 root (certs/pki-files.ts); the container is the isolation boundary.
      'user root',
      `listener ${MQTT_TLS_PORT} 0.0.0.0`,
      `cafile ${PKI_DIR}/ca/bundle.crt`,
      `certfile ${PKI_DIR}/cloud/server-chain.crt`,
      `keyfile ${PKI_DIR}/cloud/server.key`,
      'require_certificate true',
      'use_identity_as_username true',
      ...(this.#crlPem ? [`crlfile ${CONFIG_DIR}/crl.pem`] : []),
      `tls_version ${this.#tlsVersion}`,
      ...(this.#ciphers ? [`ciphers ${this.#ciphers.ciphers}`, `ciphers_tls1.3 ${this.#ciphers.ciphersuites}`] : []),
      `set_tcp_nodelay ${String(this.#tcpNoDelay)}`,
      'allow_anonymous false',
      `acl_file ${CONFIG_DIR}/acl`,
      // Checked only on the plain listener: with use_identity_as_username the TLS listener
      // takes the username from the certificate and asks for no password.
      ...(this.#plainPasswords || this.#fleetAccount ? [`password_file ${CONFIG_DIR}/passwords`] : []),
      // stderr: unbuffered, so each line reaches `docker logs` at once (stdout to a pipe is block-buffered).
      'log_dest stderr',
      ...(this.#packetLog ? ['log_type all'] : ['log_type error', 'log_type warning', 'log_type notice', 'log_type information']),
      'connection_messages true',
      // Listener-specific options apply to the listener above them: the plain one comes last.
      ...(this.#plainPasswords ? [`listener ${MQTT_PLAIN_PORT} 0.0.0.0`] : []),
      ...(this.#fleetAccount
        ? [`listener ${MQTT_PASSWORD_TLS_PORT} 0.0.0.0`, `cafile ${PKI_DIR}/ca/bundle.crt`, `certfile ${PKI_DIR}/cloud/server-chain.crt`, `keyfile ${PKI_DIR}/cloud/server.key`, 'require_certificate false', 'use_identity_as_username false', `tls_version ${this.#tlsVersion}`]
        : []),
      '',
    ].join('\n');
  }

  acl(): string {
    const lines = ['# Mirrors emulators/cloud/cloud-broker.ts#mayPublish and authorizeSubscribe.'];
    const commands = this.#deviceCommands;
    const deviceCommands = (p: string) => (commands ? [`topic read ${commandTopic(p)}`, `topic write ${responseTopic(p)}`] : []);
    for (const d of this.#devices) lines.push(`user ${d.deviceId}`, `topic write ${e3Topic(d.pseudonymHex)}`, ...deviceCommands(d.pseudonymHex), '');
    // DTLS paths: the cloud service acknowledges on cloud/acks/<pseudonym>, and only the node
    // that strips DTLS (it holds the devices' DTLS sessions) reads them.
    const acks = this.#dtlsAcks ? { read: [`topic read ${ACK_TOPIC_FILTER}`], write: [`topic write ${ACK_TOPIC_FILTER}`] } : { read: [], write: [] };
    const forward = commands ? [`topic read ${COMMAND_TOPIC_FILTER}`, `topic write ${RESPONSE_TOPIC_FILTER}`] : [];
    const command = commands ? [`topic write ${COMMAND_TOPIC_FILTER}`, `topic read ${RESPONSE_TOPIC_FILTER}`] : [];
    if (this.#gatewayUser) lines.push(`user ${this.#gatewayUser}`, `topic write ${E3_TOPIC_FILTER}`, ...acks.read, ...forward, '');
    if (this.#fleetAccount) lines.push(`user ${this.#fleetAccount.username}`, `topic write ${E3_TOPIC_FILTER}`, '');
    if (this.#subscriberUser) lines.push(`user ${this.#subscriberUser}`, `topic read ${E3_TOPIC_FILTER}`, ...acks.write, ...command, '');
    return lines.join('\n');
  }

  override async start(): Promise<StartedCloudBrokerContainer> {
    this.checkPlacement('cloud-broker');
    await this.checkImage('cloud-broker');
    if (!this.#pki) throw new Error('CloudBrokerContainer: no PKI; call withPki(dir)');
    if (!this.#configDir) throw new Error('CloudBrokerContainer: no config directory; call withConfigDir(dir)');
    if (!this.#subscriberUser) throw new Error('CloudBrokerContainer: nobody may read the readings; call withSubscriber(cn) for the cloud service');
    if (this.#devices.length === 0 && !this.#gatewayUser) throw new Error('CloudBrokerContainer: nobody may publish; call withDevices(...) and/or withGateway(cn)');
    mkdirSync(this.#configDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(this.#configDir, 'mosquitto.conf'), this.configuration(), { mode: 0o644 });
    writeFileSync(join(this.#configDir, 'acl'), this.acl(), { mode: 0o644 });
    if (this.#plainPasswords || this.#fleetAccount) {
      const accounts = new Map(this.#plainPasswords ?? []);
      if (this.#fleetAccount) accounts.set(this.#fleetAccount.username, this.#fleetAccount.password);
      writeFileSync(join(this.#configDir, 'passwords'), mosquittoPasswordFile(accounts), { mode: 0o600 });
    }
    if (this.#crlPem) writeFileSync(join(this.#configDir, 'crl.pem'), this.#crlPem, { mode: 0o644 });
    if (this.#openSsl) {
      const lines = ['openssl_conf = testbed_init', '[testbed_init]', 'ssl_conf = testbed_ssl', '[testbed_ssl]', 'system_default = testbed_tls', '[testbed_tls]', ...Object.entries(this.#openSsl).map(([k, v]) => `${k} = ${v}`), ''];
      writeFileSync(join(this.#configDir, 'openssl.cnf'), lines.join('\n'), { mode: 0o644 });
      this.withEnvironment({ OPENSSL_CONF: `${CONFIG_DIR}/openssl.cnf` });
    }
    this.waitForLine(/Opening ipv4 listen socket on port 8883/, STARTUP_TIMEOUT_MS);
    try {
      return new StartedCloudBrokerContainer(await super.start());
    } catch (err) {
      throw new Error(`containers: Mosquitto did not start: ${(err as Error).message.split('\n')[0]}`);
    }
  }
}

/**
 * Mosquitto 2.0's password file format: `user:$7$<iterations>$<salt b64>$<PBKDF2-HMAC-SHA512 b64>`
 * (what mosquitto_passwd writes; plain-text entries are refused by 2.0).
 */
export function mosquittoPasswordFile(passwords: ReadonlyMap<string, string>, iterations = 101): string {
  return [...passwords]
    .map(([user, password]) => {
      const salt = randomBytes(12);
      const hash = pbkdf2Sync(password, salt, iterations, 64, 'sha512');
      return `${user}:$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}\n`;
    })
    .join('');
}

export interface BrokerPublishCounts {
  /** PUBLISH packets from clients that the ACL let through. */
  readonly authorised: number;
  readonly denied: number;
}

export class StartedCloudBrokerContainer extends AbstractStartedContainer {
  constructor(started: StartedTestContainer) {
    super(started);
  }

  async log(): Promise<string> {
    const { stdout, stderr } = await docker(['logs', this.getId()], { timeoutMs: 20_000 });
    return stdout + stderr;
  }

  /** The broker log as observations (kinds as in cloud-broker.ts where they match). */
  async observations(): Promise<Observation[]> {
    return parseMosquittoLog(await this.log());
  }

  async publishCounts(): Promise<BrokerPublishCounts> {
    const obs = await this.observations();
    return { authorised: obs.filter((o) => o.kind === 'publish').length, denied: obs.filter((o) => o.kind === 'publish-refused').length };
  }
}

/** Parse Mosquitto 2.0's log (`<unix seconds>: <message>`) into observations. */
export function parseMosquittoLog(text: string): Observation[] {
  const out: Observation[] = [];
  const usernames = new Map<string, string>();
  const received: Observation[] = [];
  let subscriber: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^(\d+): (.*)$/.exec(line.trim());
    if (!m) continue;
    const at = Number(m[1]) * 1000;
    const msg = m[2] as string;
    const obs = (kind: string, detail: Record<string, unknown>): Observation => ({ at, role: 'cloud-broker', kind, summary: msg, detail });
    let x: RegExpExecArray | null;
    if ((x = /^New client connected from (\S+) as (\S+) \(.*u'([^']*)'\)/.exec(msg))) {
      usernames.set(x[2] as string, x[3] as string);
      out.push(obs('mqtt-connect', { clientId: x[2], identity: x[3], from: x[1], accepted: true }));
    } else if ((x = /^Received PUBLISH from (\S+) \(d(\d), q(\d), r\d, m\d+, '([^']*)', \.\.\. \((\d+) bytes\)\)/.exec(msg))) {
      const o = obs('publish', { clientId: x[1], identity: usernames.get(x[1] as string), dup: x[2] === '1', qos: Number(x[3]), topic: x[4], bytes: Number(x[5]) });
      received.push(o);
      out.push(o);
    } else if ((x = /^Denied PUBLISH from (\S+) \(d\d, q\d, r\d, m\d+, '([^']*)'/.exec(msg))) {
      // Mosquitto logs "Received" before the ACL check: a denied one is not a delivered one.
      const idx = out.lastIndexOf(received.findLast((r) => r.detail.clientId === x?.[1] && r.detail.topic === x?.[2]) as Observation);
      if (idx >= 0) out.splice(idx, 1);
      out.push(obs('publish-refused', { clientId: x[1], identity: usernames.get(x[1] as string), topic: x[2] }));
    } else if ((x = /^Received SUBSCRIBE from (\S+)/.exec(msg))) {
      subscriber = x[1];
    } else if (subscriber && (x = /^\t(\S+) \(QoS (\d)\)/.exec(m[2] as string))) {
      // Mosquitto grants a subscription its ACL forbids (SUBACK with the QoS) and then delivers nothing on it.
      out.push(obs('subscribe', { clientId: subscriber, identity: usernames.get(subscriber), topic: x[1], qos: Number(x[2]) }));
    } else if ((x = /^Sending PUBLISH to (\S+) \(d(\d), q\d, r\d, m\d+, '([^']*)'/.exec(msg))) {
      out.push(obs('deliver', { clientId: x[1], identity: usernames.get(x[1] as string), dup: x[2] === '1', topic: x[3] }));
    } else if ((x = /^Outgoing messages are being dropped for client (\S+)\.$/.exec(msg))) {
      // Mosquitto 2.0.11 src/database.c db__message_insert: a QoS 1/2 message for a client whose
      // queue is at max_queued_messages (mosquitto.conf(5)) is dropped, logged once until that
      // client connects again; the publisher's PUBACK was not held back (MQTT 3.1.1 §4.3.2: hop by hop).
      out.push(obs('queue-drop', { clientId: x[1] }));
    } else if ((x = /^Client (\S+) disconnected/.exec(msg))) {
      out.push(obs('client-disconnect', { clientId: x[1] }));
    } else if (/OpenSSL Error|Client connection from .* failed|protocol error/i.test(msg)) {
      out.push(obs('tls-error', { message: msg }));
    } else if (/^Opening ipv4 listen socket/.test(msg)) {
      out.push(obs('listening', { port: MQTT_TLS_PORT }));
    }
  }
  return out;
}
