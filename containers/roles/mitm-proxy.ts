/**
 * The MITM proxy as a long-lived role (docs/architecture.md §3 Roles, §8): emulators/mitm-proxy.ts with its
 * attacks, told per attempt which certificate to present, so one container serves a whole
 * forged-certificate matrix and every attempt still gets a fresh proxy, a fresh observation log
 * and its own key log. It always listens on `listenPort`; an armed proxy sits behind that port
 * on loopback (the Go impostor, for `replaced-key`, only listens on loopback), reached through
 * a plain TCP relay that passes every byte and every close through unchanged.
 *
 *   POST /arm {dir, presents: {name, explain, certChainPem, keyPem, legacySecurityLevel}, upstream?}
 *        stop the previous proxy, start one presenting this certificate; `upstream` (host, port,
 *        and the stolen identity's PEMs) makes it relay into the real cloud instead of
 *        impersonating the broker
 *   GET  /observations      the armed proxy's log
 *   POST /disarm {waitMs}   wait (bounded) for the proxy's verdict, stop it, return its log and
 *                           the plaintext bytes it obtained
 */
import { join } from 'node:path';
import { KeyLog } from '../../capture/keylog.ts';
import { MitmProxy } from '../../emulators/mitm-proxy.ts';
import { harvestCredentials, presentForgedCertificate, readPublishedPayloads } from '../../emulators/mitm-attacks.ts';
import { TcpLink } from '../../links/tcp-link.ts';
import type { Observation } from '../../emulators/observation-log.ts';
import { EVIDENCE_DIR, type MitmProxyRole } from '../role-config.ts';
import type { ServedRole } from './resumption-device.ts';

const LOOPBACK = '127.0.0.1';

interface Armed {
  readonly proxy: MitmProxy;
  readonly front: TcpLink;
  readonly keyLog: KeyLog;
}

/** The body of POST /arm, checked: it crosses a process boundary. */
export interface ArmRequest {
  /** The attempt's evidence directory, relative to the run's evidence mount. */
  readonly dir: string;
  readonly presents: { readonly name: string; readonly explain: string; readonly certChainPem: string; readonly keyPem: string; readonly legacySecurityLevel: boolean };
  readonly upstream?: { readonly host: string; readonly port: number; readonly serverName: string; readonly caPem: string; readonly certChainPem: string; readonly keyPem: string };
}

function checkArm(b: Record<string, unknown>): ArmRequest {
  const a = b as Partial<ArmRequest>;
  if (typeof a.dir !== 'string' || a.dir.startsWith('/') || a.dir.split('/').includes('..')) throw new Error(`mitm-proxy: "dir" must be a path inside the evidence directory, got ${JSON.stringify(a.dir)}`);
  const p = a.presents;
  if (!p || typeof p.certChainPem !== 'string' || typeof p.keyPem !== 'string' || typeof p.name !== 'string') throw new Error('mitm-proxy: "presents" must hold name, explain, certChainPem and keyPem (PEM text)');
  return a as ArmRequest;
}

export async function startMitmProxyRole(config: MitmProxyRole): Promise<ServedRole> {
  let armed: Armed | undefined;
  const disarm = async (): Promise<{ observations: readonly Observation[]; plaintextBytes: number } | undefined> => {
    const a = armed;
    armed = undefined;
    if (!a) return undefined;
    await a.front.stop();
    await a.proxy.stop();
    await a.keyLog.close();
    return { observations: a.proxy.log.all(), plaintextBytes: a.proxy.plaintextBytes() };
  };
  return {
    routes: {
      'POST /arm': async (body) => {
        const o = checkArm(body);
        await disarm();
        const dir = join(EVIDENCE_DIR, o.dir);
        const keyLog = KeyLog.open(join(dir, 'keylogs', 'mitm-proxy.keylog'));
        const proxy = new MitmProxy({
          name: 'mitm-proxy',
          listen: { host: LOOPBACK, port: 0 },
          attacks: [presentForgedCertificate(o.presents.name, o.presents.explain, { certChainPem: o.presents.certChainPem, keyPem: o.presents.keyPem, legacySecurityLevel: o.presents.legacySecurityLevel }), harvestCredentials(), readPublishedPayloads()],
          ...(o.upstream
            ? { upstream: { host: o.upstream.host, port: o.upstream.port, tls: { ca: o.upstream.caPem, cert: o.upstream.certChainPem, key: o.upstream.keyPem, servername: o.upstream.serverName, minVersion: 'TLSv1.2' as const } } }
            : {}),
          handshakeTimeoutMs: config.handshakeTimeoutMs,
          evidence: { tlsEndpoint: (_r, e) => keyLog.attach(e) },
          impostorKeyLogFile: join(dir, 'impostor.keylog'),
        });
        let front: TcpLink;
        try {
          front = new TcpLink({ name: 'mitm-front', listen: { host: '0.0.0.0', port: config.listenPort }, target: await proxy.start() });
          await front.start();
        } catch (err) {
          await proxy.stop().catch(() => undefined);
          await keyLog.close();
          throw err;
        }
        armed = { proxy, front, keyLog };
        return proxy.log.all();
      },
      'GET /observations': async () => armed?.proxy.log.all() ?? [],
      'POST /disarm': async (body) => {
        const waitMs = Number(body.waitMs ?? 0);
        // The victim has its verdict; wait (bounded) until the proxy has recorded its side too.
        if (armed && waitMs > 0) await armed.proxy.verdict(waitMs);
        return (await disarm()) ?? { observations: [], plaintextBytes: 0 };
      },
    },
    stop: async () => {
      await disarm();
    },
  };
}
