/**
 * The raw node:tls baseline of the sequential handshake benchmarks (bench/handshake.ts,
 * bench/fleet.ts section 3): one mutual-TLS connection that sends one byte and ends when the
 * server, having answered one, closes. Full or resumed by what `session` holds.
 */
import { connect as tlsConnect, type SecureContext } from 'node:tls';
import { connect as netConnect } from 'node:net';
import { CLOUD_NAME } from '../certs/genuine-profiles.ts';

/** A client for `port` on loopback that keeps the latest session it was handed. */
export function rawTlsRoundTrip(port: number, secureContext: SecureContext): (resume: boolean) => Promise<void> {
  let session: Buffer | undefined;
  return (resume) =>
    new Promise<void>((resolve, reject) => {
      const s = tlsConnect({ socket: netConnect({ host: '127.0.0.1', port, noDelay: true }), servername: CLOUD_NAME, secureContext, ...(resume && session ? { session } : {}) });
      s.on('session', (x: Buffer) => (session = x));
      s.write('c');
      // Done when the server's answer came and it closed: a refused handshake also ends in a
      // close, and must not count as a connection.
      let answered = false;
      s.on('data', () => (answered = true));
      s.on('end', () => {
        s.destroy();
        if (answered) resolve();
        else reject(new Error('bench: the raw server closed without answering (handshake refused?)'));
      });
      s.on('error', reject);
    });
}
