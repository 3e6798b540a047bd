/**
 * The test process's side of a role runner's control socket (role-runner.ts): HTTP/JSON over a
 * Unix socket in a directory mounted into the container. Bounded by a timeout; errors name the
 * role and what it said.
 */
import { request } from 'node:http';
import { decodeWire, encodeWire } from './wire.ts';

export class RoleControl {
  constructor(readonly role: string, readonly socketPath: string) {}

  call<T>(method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 60_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : encodeWire(body);
      const req = request({ socketPath: this.socketPath, method, path, headers: { 'content-type': 'application/json' }, timeout: timeoutMs }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let value: unknown;
          try {
            value = decodeWire(text);
          } catch (err) {
            return reject(new Error(`containers: ${this.role} answered ${method} ${path} with unreadable JSON (${(err as Error).message})`));
          }
          if (res.statusCode === 200) resolve(value as T);
          else reject(new Error(`containers: ${this.role}: ${(value as { error?: string })?.error ?? `HTTP ${res.statusCode}`}`));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => reject(new Error(`containers: cannot reach the ${this.role} role at ${this.socketPath} (${err.message}); is its container running? see \`docker logs\` of it`)));
      req.end(payload);
    });
  }
}
