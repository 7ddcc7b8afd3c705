// Child-process plumbing shared by the real-component harnesses (redis-server, nginx, servers).
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A port that was free on 127.0.0.1 a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Polls `ready` (bounded: 200 tries, 50 ms apart) until it is true; fails early, with the
 * process's output, when the process exits first.
 */
export async function waitFor(what: string, proc: ChildProcess | undefined, ready: () => Promise<boolean>, output: () => string = () => ''): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (proc && (proc.exitCode !== null || proc.signalCode !== null)) {
      throw new Error(`${what} exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${output()}`);
    }
    if (await ready()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} was not ready after 10 s:\n${output()}`);
}
