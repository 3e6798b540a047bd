/**
 * An on-path attacker on the device's link (RFC 8446 §8, "Replay Attacks on 0-RTT"): a TCP relay
 * that passes every byte on and keeps, per connection, the client's first flight, every byte the
 * client sent before the server's first byte came back. For a 0-RTT reconnect that is the
 * ClientHello and the early data. `replay` sends a recorded flight again from a connection of
 * its own, as an attacker who never held any key can.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ObservationLog } from '../observation-log.ts';
import type { TcpAddress } from './wolfssl-tls-process.ts';
import { stopListener } from '../../links/stop-listener.ts';

export type RecorderObservation = 'listening' | 'first-flight' | 'replay' | 'replay-answer' | 'replay-closed';

/** A recorded first flight is capped (a ClientHello and 16 KiB of early data fit many times over). */
const MAX_FLIGHT_BYTES = 256 * 1024;

export class FirstFlightRecorder {
  readonly log = new ObservationLog<RecorderObservation>('attacker/first-flight-recorder');
  readonly #target: TcpAddress;
  readonly #flights: Buffer[] = [];
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;

  readonly #listen: TcpAddress;

  /** `listen`: loopback on a free port unless given (a recorder container listens on its network). */
  constructor(target: TcpAddress, listen: TcpAddress = { host: '127.0.0.1', port: 0 }) {
    this.#target = target;
    this.#listen = listen;
  }

  async start(): Promise<TcpAddress> {
    const server = createServer({ noDelay: true }, (client) => this.#relay(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#listen.port, this.#listen.host, () => resolve());
    });
    this.#server = server;
    const a = server.address() as AddressInfo;
    this.log.record('listening', `on path ${a.address}:${a.port} → ${this.#target.host}:${this.#target.port}`, {});
    return { host: a.address, port: a.port };
  }

  /** The first flights recorded so far, one per relayed connection, in order. */
  get flights(): readonly Buffer[] {
    return this.#flights;
  }

  /**
   * Send flight `index` again on a new connection and hold it open for `holdMs` (the replayed
   * ClientHello can never be followed by the client's Finished: the attacker has no key). Resolves
   * with the bytes the server answered, bounded by holdMs.
   */
  async replay(index: number, holdMs: number): Promise<{ answeredBytes: number }> {
    const flight = this.#flights[index];
    if (!flight) throw new Error(`first-flight-recorder: no first flight #${index} recorded (have ${this.#flights.length}); relay a connection first`);
    if (!(holdMs > 0 && holdMs <= 30_000)) throw new Error(`first-flight-recorder: holdMs must be 1..30000, got ${holdMs}`);
    const socket = connect({ host: this.#target.host, port: this.#target.port, noDelay: true });
    this.#sockets.add(socket);
    let answered = 0;
    socket.on('data', (b: Buffer) => (answered += b.length));
    socket.on('error', () => undefined); // the front may reset it: what it answered is the record
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, holdMs);
      socket.once('connect', () => {
        this.log.record('replay', `replayed first flight #${index} (${flight.length} bytes)`, { index, bytes: flight.length });
        socket.write(flight);
      });
      socket.once('close', () => (clearTimeout(timer), resolve()));
    });
    this.log.record('replay-answer', `the server answered the replay with ${answered} bytes`, { index, answeredBytes: answered });
    socket.destroy();
    this.#sockets.delete(socket);
    return { answeredBytes: answered };
  }

  #relay(client: Socket): void {
    const server = connect({ host: this.#target.host, port: this.#target.port, noDelay: true });
    this.#sockets.add(client).add(server);
    const index = this.#flights.length;
    const chunks: Buffer[] = [];
    let size = 0;
    let recording = true;
    const finish = () => {
      if (!recording) return;
      recording = false;
      const flight = Buffer.concat(chunks);
      this.#flights[index] = flight;
      this.log.record('first-flight', `recorded connection #${index}'s first flight: ${flight.length} bytes`, { index, bytes: flight.length });
    };
    this.#flights[index] = Buffer.alloc(0);
    client.on('data', (b: Buffer) => {
      if (recording && size + b.length <= MAX_FLIGHT_BYTES) {
        chunks.push(b);
        size += b.length;
      }
      server.write(b);
    });
    server.on('data', (b: Buffer) => {
      finish();
      client.write(b);
    });
    const end = () => {
      finish();
      client.destroy();
      server.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(server);
    };
    client.on('close', end).on('error', end);
    server.on('close', end).on('error', end);
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    await stopListener(server, this.#sockets);
  }
}
