// Writes TLS secrets in the NSS key log format (SSLKEYLOGFILE,
// https://www.ietf.org/archive/id/draft-ietf-tls-keylogfile-02.html) so that Wireshark/tshark
// can decrypt the E4 (TLS) layer of a run's captures and show the E3 payload still opaque.
//
// A key log holds live traffic secrets: anyone with it reads every TLS record of the run.
// It is therefore created with mode 0600 (owner only, also forced on a pre-existing file),
// kept apart from the captures (which are 0644), belongs to one run only and is git-ignored
// (*.keylog). Node emits each 'keylog' event as one complete line including its newline.
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Server, TLSSocket } from 'node:tls';

type KeylogSource = TLSSocket | Server;

export class KeyLog {
  #fd: number | undefined;
  readonly #path: string;
  #lines = 0;
  readonly #detach: (() => void)[] = [];

  private constructor(path: string, fd: number) {
    this.#path = path;
    this.#fd = fd;
  }

  /** Opens (creating, mode 0600) the key log for appending. */
  static open(path: string): KeyLog {
    // Owner-only folder too: a freshly created run folder should not expose its secrets.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const fd = openSync(path, 'a', 0o600);
    // The mode argument only applies when the file is created; tighten an existing one.
    chmodSync(path, 0o600);
    return new KeyLog(path, fd);
  }

  get path(): string {
    return this.#path;
  }

  get lineCount(): number {
    return this.#lines;
  }

  /**
   * Records the secrets of a TLS client socket, or of every connection a TLS server accepts.
   * Lines are written synchronously so they are on disk before anyone reads the capture.
   */
  attach(source: KeylogSource): void {
    if (this.#fd === undefined) throw new Error(`keylog: ${this.#path} is closed; attach before close()`);
    const listener = (line: Buffer): void => this.#write(line);
    source.on('keylog', listener);
    this.#detach.push(() => source.off('keylog', listener));
  }

  #write(line: Buffer): void {
    if (this.#fd === undefined) return;
    const text = line.toString('latin1');
    writeSync(this.#fd, text.endsWith('\n') ? text : `${text}\n`, null, 'latin1');
    this.#lines += 1;
  }

  /** Stops listening, flushes and closes; safe to call more than once. */
  async close(): Promise<void> {
    for (const detach of this.#detach.splice(0)) detach();
    const fd = this.#fd;
    if (fd === undefined) return;
    this.#fd = undefined;
    fsyncSync(fd);
    closeSync(fd);
  }
}
