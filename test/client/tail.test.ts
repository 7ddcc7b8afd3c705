// `npx xanjax tail` end to end: the real command (bin/xanjax.ts, bundled) in a child process against
// the reference server, including an --exec stream and Ctrl-C.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../reference-server/index.ts';
import type { SspServer } from '../../reference-server/index.ts';
import { testBin as bin } from '../support/bundles.ts';

let server: SspServer;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  // A long idle timeout: a session that disappears quickly was closed, not expired.
  server = await createServer({ port: 0, conformance: true, exec: "printf 'a\\nb\\n'", limits: { idleTimeoutMs: 60_000 } });
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await server?.close();
});

function tail(args: string[]) {
  const child = spawn(process.execPath, [bin, 'tail', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk: Buffer) => (output.stdout += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const exited = once(child, 'exit').then(([code]) => {
    clearTimeout(killer);
    children.delete(child);
    return { code: code as number | null, ...output };
  });
  return { child, output, exited };
}

const lines = (text: string) => text.trim().split('\n').map((line) => JSON.parse(line));

describe('xanjax tail against the reference server', () => {
  it('prints the events of ssp.counter as JSON lines and exits 0', async () => {
    const { code, stdout } = await tail([server.url, 'ssp.counter', '--params', '{"count":5}']).exited;
    expect(code).toBe(0);
    expect(lines(stdout)).toEqual([1, 2, 3, 4, 5].map((n) => ({ seq: n, data: { n } })));
  });

  it('prints the lines of an --exec stream', async () => {
    const { code, stdout } = await tail([server.url, 'exec']).exited;
    expect(code).toBe(0);
    expect(lines(stdout)).toEqual([
      { seq: 1, data: 'a' },
      { seq: 2, data: 'b' },
    ]);
  });

  it('exits 1 with the message when the stream fails', async () => {
    const { code, stdout, stderr } = await tail([server.url, 'ssp.fail', '--params', '{"after":2,"message":"boom"}']).exited;
    expect(code).toBe(1);
    expect(lines(stdout)).toHaveLength(2);
    expect(stderr).toContain('stream ended: error: boom');
  });

  it('exits 1 naming the error code for invalid params', async () => {
    const { code, stderr } = await tail([server.url, 'ssp.counter', '--params', '{"count":0}']).exited;
    expect(code).toBe(1);
    expect(stderr).toContain('invalid-params');
  });

  it('Ctrl-C closes the session on the server and exits 130', async () => {
    const before = server.handler.stats().sessions;
    const run = tail([server.url, 'ssp.ticker', '--params', '{"intervalMs":50}']);
    for (let i = 0; i < 400 && run.output.stdout.split('\n').length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(server.handler.stats().sessions).toBe(before + 1);
    run.child.kill('SIGINT');
    const { code, stdout, stderr } = await run.exited;
    expect(code).toBe(130);
    expect(lines(stdout).length).toBeGreaterThanOrEqual(2);
    expect(stderr).toContain('interrupted');
    // The session is gone at once (its idle timeout is a minute): the close reached the server.
    expect(server.handler.stats().sessions).toBe(before);
  });
});
