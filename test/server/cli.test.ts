// `xanjax serve` as a user runs it: a real process, its one-line URL, SIGTERM shutdown.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterAll, expect, it, vi } from 'vitest';
import { main, parseOptions } from '../../reference-server/cli.ts';
import { clientKeyFromForwardedFor } from '../../reference-server/index.ts';
import { Signer } from '../../reference-server/signature.ts';
import { open, poll, post, send, sleep, start } from './helpers.ts';
import { testBin as bin } from '../support/bundles.ts';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Starts `xanjax serve args`, resolves with the URL from its first stdout line (bounded). */
async function serve(args: string[]): Promise<{ child: ChildProcess; url: string; stdout: string[] }> {
  const child = spawn(process.execPath, [bin, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const stdout: string[] = [];
  const lines = createInterface({ input: child.stdout! });
  const first = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no URL line within 15 s')), 15_000);
    lines.on('line', (line) => {
      stdout.push(line);
      clearTimeout(timer);
      resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before printing the URL`)));
  });
  const line = await first;
  const match = /^xanjax: SSP\/1 endpoint (http:\/\/\S+)$/.exec(line);
  if (!match) throw new Error(`unexpected first line: ${line}`);
  return { child, url: match[1], stdout };
}

it('prints one URL line, answers a held poll with shutdown on SIGTERM, and exits 0', async () => {
  const { child, url, stdout } = await serve(['--port', '0', '--conformance']);
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ssp$/);
  const sig = await open(url, 'ssp.ticker', { intervalMs: 60000 });
  const held = poll(url, sig, 1500);
  await sleep(100);
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const answer = await held;
  expect(answer.json).toMatchObject({ type: 'termination', reason: 'shutdown', advice: { action: 'resume' } });
  const [code] = await exited;
  expect(code).toBe(0);
  expect(stdout).toEqual([`xanjax: SSP/1 endpoint ${url}`]);
});

it('shows help and rejects bad options with exit code 2', async () => {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const error = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    expect(await main(['--help'])).toBe(0);
    expect(log.mock.calls[0][0]).toMatch(/Usage: xanjax serve/);
    expect(await main(['--port', 'eighty'])).toBe(2);
    expect(await main(['--frobnicate'])).toBe(2);
    expect(await main(['--path', 'ssp'])).toBe(2);
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
});

it('takes previous secrets from repeated flags, else from XANJAX_PREVIOUS_SECRETS, and only with a secret', () => {
  const env = { XANJAX_SECRET: 'env-new', XANJAX_PREVIOUS_SECRETS: 'env-old1,env-old2' };
  expect(parseOptions(['--secret', 'new', '--previous-secret', 'old1', '--previous-secret', 'old2'], {}).secret).toEqual(['new', 'old1', 'old2']);
  expect(parseOptions([], env).secret).toEqual(['env-new', 'env-old1', 'env-old2']);
  expect(parseOptions(['--previous-secret', 'flag-old'], env).secret).toEqual(['env-new', 'flag-old']);
  expect(parseOptions(['--secret', 'new'], {}).secret).toBe('new');
  expect(parseOptions([], {}).secret).toBeUndefined();
  expect(() => parseOptions(['--previous-secret', 'old'], {})).toThrow(/needs --secret/);
  expect(() => parseOptions([], { XANJAX_PREVIOUS_SECRETS: 'old' })).toThrow(/needs --secret/);
});

it('takes the per-client session limit and the proxy trust from flags', () => {
  expect(parseOptions([], {})).toMatchObject({ maxSessionsPerClient: undefined, clientKey: undefined });
  expect(parseOptions(['--max-sessions-per-client', '3', '--trust-proxy'], {})).toMatchObject({ maxSessionsPerClient: 3, clientKey: clientKeyFromForwardedFor });
  expect(() => parseOptions(['--max-sessions-per-client', '0'], {})).toThrow(/--max-sessions-per-client/);
});

it('serve applies --previous-secret, --max-sessions-per-client and --trust-proxy', async () => {
  const { child, url } = await serve([
    '--port', '0', '--conformance', '--secret', 'cli-new', '--previous-secret', 'cli-old', '--max-sessions-per-client', '1', '--trust-proxy',
  ]);
  try {
    const openAs = (client: string) => post(url, { ssp: 1, type: 'open', stream: 'ssp.ticker' }, { 'content-type': 'application/json', 'x-forwarded-for': client });
    expect((await openAs('203.0.113.1')).status).toBe(200);
    expect((await openAs('203.0.113.1')).json.code).toBe('too-many-sessions');
    expect((await openAs('203.0.113.2')).status).toBe(200);
    const old = new Signer('cli-old');
    const sig = old.sign(old.key('before-rotation', 'ssp.counter', { count: 2, intervalMs: 0, size: 0 }), 0, Date.now() + 60_000);
    // The old key still verifies (a forged key would be invalid-signature), but with events and
    // terminations in memory a session from before this start is not re-created (SSP-SIGNATURE-14).
    const resumed = await poll(url, sig, 1000);
    expect(resumed.json.code).toBe('unavailable');
    const forged = new Signer('cli-other');
    expect((await poll(url, forged.sign(forged.key('x', 'ssp.counter', { count: 2, intervalMs: 0, size: 0 }), 0, Date.now() + 60_000), 0)).json.code).toBe('invalid-signature');
  } finally {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
});

it('serves the demo page and the bundled browser client', async () => {
  const server = await start({ demo: true, path: '/push' });
  try {
    const page = await send(new URL('/', server.url).href, 'GET');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.text).toContain('data-endpoint="/push"');
    expect(page.text).toContain('/demo.js');
    for (const [path, type] of [
      ['/demo.js', 'text/javascript; charset=utf-8'],
      ['/demo.css', 'text/css; charset=utf-8'],
      ['/xanjax-client.js', 'text/javascript; charset=utf-8'],
    ]) {
      const r = await send(new URL(path, server.url).href, 'GET');
      expect(r.status, path).toBe(200);
      expect(r.headers['content-type']).toBe(type);
      expect(r.headers['cache-control']).toBe('no-store');
    }
    const client = await send(new URL('/xanjax-client.js', server.url).href, 'GET');
    expect(client.text).toMatch(/export\s*\{[^}]*pushlet/);
    expect(client.headers['access-control-allow-origin']).toBe('*');
    const discovery = (await send(server.url, 'GET')).json;
    expect(discovery.type).toBe('discovery');
    // The page's default feed exists without the host application defining it.
    expect(discovery.streams.map((s: { name: string }) => s.name)).toContain('ticker');
  } finally {
    await server.close();
  }
});
