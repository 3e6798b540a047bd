/**
 * The on-path attacker of the 0-RTT replay (RFC 8446 §8) as a role of its own:
 * emulators/tls13-early-data/first-flight-recorder.ts, the relay the local rig puts between the
 * device's link and the wolfSSL front, here listening on the scenario's network.
 *
 *   GET  /flights             each relayed connection's first flight, hex, in order
 *   POST /replay {index, holdMs}  send flight `index` again from a connection of its own
 *   GET  /observations        the recorder's log
 */
import { FirstFlightRecorder } from '../../emulators/tls13-early-data/first-flight-recorder.ts';
import type { FirstFlightRecorderRole } from '../role-config.ts';
import type { ServedRole } from './resumption-device.ts';

export async function startFirstFlightRecorder(config: FirstFlightRecorderRole): Promise<ServedRole> {
  const recorder = new FirstFlightRecorder(config.target, { host: '0.0.0.0', port: config.listenPort });
  await recorder.start();
  return {
    routes: {
      'GET /flights': async () => recorder.flights.map((f) => f.toString('hex')),
      'POST /replay': async (b) => {
        if (typeof b.index !== 'number' || typeof b.holdMs !== 'number') throw new Error('first-flight-recorder: POST /replay needs {"index": <connection number from 0>, "holdMs": <1..30000>}');
        return recorder.replay(b.index, b.holdMs);
      },
      'GET /observations': async () => recorder.log.all(),
    },
    stop: () => recorder.stop(),
  };
}
