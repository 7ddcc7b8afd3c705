// Reference servers as child processes (`xanjax serve`, the real CLI) on one Redis, for the
// multi-instance tests: each prints its endpoint; SIGKILL and SIGTERM stop it.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const xanjax = fileURLToPath(new URL('../../bin/xanjax.js', import.meta.url));

export interface Instance {
  url: string;
  /** host:port, for an nginx upstream. */
  address: string;
  child: ChildProcess;
  stderr(): string;
  exited: Promise<NodeJS.Signals | number | null>;
}

export function startInstance(args: string[]): Promise<Instance> {
  const child = spawn(process.execPath, [xanjax, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /SSP\/1 endpoint (\S+)/.exec(out);
      if (match) resolve({ url: match[1], address: new URL(match[1]).host, child, stderr: () => stderr, exited });
    });
    void exited.then((how) => reject(new Error(`xanjax serve exited (${how}) before it listened:\n${stderr}`)));
  });
}

export async function stopInstance(instance: Instance): Promise<void> {
  if (instance.child.exitCode === null && instance.child.signalCode === null) instance.child.kill('SIGTERM');
  await instance.exited;
}
