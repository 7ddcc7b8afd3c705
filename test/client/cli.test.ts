// `xanjax tail` in-process against the fault server: output formats, exit codes, Ctrl-C.
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { tail } from '../../reference-client/cli.ts';
import { startFaultServer } from './fault-server.ts';
import type { Fault, FaultServer, FaultServerOptions } from './fault-server.ts';
import { until } from './helpers.ts';

let server: FaultServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function capture(stream: PassThrough): () => string {
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk));
  return () => text;
}

async function run(argv: string[], options?: { signals?: EventEmitter; stdout?: PassThrough }) {
  const stdout = options?.stdout ?? new PassThrough();
  const stderr = new PassThrough();
  // A stdout passed in is the test's to read (or not).
  const [out, err] = [options?.stdout ? () => '' : capture(stdout), capture(stderr)];
  const code = await tail(argv, { stdout, stderr, signals: options?.signals ?? new EventEmitter() });
  return { code, stdout: out(), stderr: err() };
}

async function start(faults: Fault[] = [], options: Partial<FaultServerOptions> = {}) {
  server = await startFaultServer({ events: 5, batchSize: 2, faults, ...options });
  return server.url;
}

describe('xanjax tail', () => {
  it('prints one JSON object per event and exits 0 on complete', async () => {
    const { code, stdout, stderr } = await run([await start(), 'counter']);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n').map((line) => JSON.parse(line))).toEqual([1, 2, 3, 4, 5].map((n) => ({ seq: n, data: { n } })));
    expect(stderr).toBe('');
  });

  it('--format pretty prints seq and data per line', async () => {
    const { code, stdout, stderr } = await run([await start(), 'counter', '--format', 'pretty']);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(5);
    expect(stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} {2}#1 {2}\{"n":1\}$/m);
    expect(stderr).toContain('stream complete');
  });

  it('reports retries on stderr and still prints every event once', async () => {
    const { code, stdout, stderr } = await run([await start(['ok', 'bad-gateway', 'ok', 'drop']), 'counter']);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(5);
    expect(stderr).toContain('retrying in');
  });

  it('exits 1 with the reason when the stream ends otherwise', async () => {
    const { code, stderr } = await run([await start(['ok', { terminate: 'error', action: 'none' }]), 'counter']);
    expect(code).toBe(1);
    expect(stderr).toContain('stream ended: error');
  });

  it('exits 1 with the code on a server error', async () => {
    const { code, stderr } = await run([await start(), 'nope']);
    expect(code).toBe(1);
    expect(stderr).toContain('unknown-stream');
  });

  it('exits 2 when the endpoint does not speak SSP/1 or cannot be reached', async () => {
    const url = await start();
    const missing = await run([`${server!.origin}/missing`, 'counter']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('HTTP 404');
    await server!.close();
    server = undefined;
    const { code, stderr } = await run([url, 'counter']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/request to .* failed/);
    expect(stderr).not.toContain('retrying');
  });

  it('opening is not retried: a 503 to the open exits 1 at once, without waiting', async () => {
    const { code, stderr } = await run([await start([{ retryAfterMs: 60_000 }]), 'counter']);
    expect(code).toBe(1);
    expect(stderr).toContain('unavailable');
    expect(stderr).not.toContain('retrying');
  });

  it.each([[[]], [['http://x/ssp']], [['ftp://x/ssp', 's']], [['http://x/ssp', 's', '--params', '{']], [['http://x/ssp', 's', '--params', '[]']], [['http://x/ssp', 's', '--format', 'xml']], [['http://x/ssp', 's', '--bogus']]])(
    'exits 2 with usage on bad arguments %j',
    async (argv) => {
      const { code, stderr } = await run(argv);
      expect(code).toBe(2);
      expect(stderr).toContain('Usage: xanjax tail');
    },
  );

  it('--help prints usage and exits 0', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Exit status');
  });

  it('--streams follows several streams, each line naming its stream; --headers go with every request', async () => {
    const streams = JSON.stringify([{ id: 'a', stream: 'counter' }, { id: 'b', stream: 'counter', params: {} }]);
    const { code, stdout } = await run([await start(), '--streams', streams, '--headers', '{"authorization":"Bearer t"}', '--format', 'lines']);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as { stream: string; seq?: number });
    for (const id of ['a', 'b']) {
      const own = lines.filter((line) => line.stream === id);
      expect(own.flatMap((line) => (line.seq === undefined ? [] : [line.seq]))).toEqual([1, 2, 3, 4, 5]);
      expect(own.at(-1)).toEqual({ stream: id, termination: { reason: 'complete', last: 5 } });
    }
    const posts = server!.requests.filter((request) => request.type !== undefined);
    expect(posts.length).toBeGreaterThan(4);
    expect(posts.every((request) => request.authorization === 'Bearer t')).toBe(true);
  });

  it('exits 2 on malformed --streams or --headers', async () => {
    for (const argv of [['--streams', '[]'], ['--streams', '[{"id":"a","stream":"x"},{"id":"a","stream":"y"}]'], ['--headers', '{"x":1}'], ['--headers', 'nope']]) {
      const { code, stderr } = await run(['http://127.0.0.1:9/ssp', ...argv]);
      expect(code, argv.join(' ')).toBe(2);
      expect(stderr).toMatch(/--streams|--headers/);
    }
  });

  it('SIGINT sends close and exits 130', async () => {
    const url = await start([], { events: Infinity, available: 2, holdMs: 10_000 });
    const signals = new EventEmitter();
    const running = run([url, 'counter'], { signals });
    expect(await until(() => server!.requests.some((r) => r.type === 'poll' && r.position === 2))).toBe(true);
    signals.emit('SIGINT');
    const { code, stdout, stderr } = await running;
    expect(code).toBe(130);
    expect(stdout.trim().split('\n')).toHaveLength(2);
    expect(server!.closes).toEqual(['faultsig.session-1.pos-2']);
    expect(stderr).toContain('interrupted');
  });

  it('ends quietly with 0, closing the session, when its output is closed (| head)', async () => {
    const url = await start([], { events: Infinity, available: 2, holdMs: 10_000 });
    const stdout = new PassThrough();
    stdout.once('data', () => stdout.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })));
    const { code, stderr } = await run([url, 'counter'], { stdout });
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(server!.closes).toHaveLength(1);
  });

  it('stops polling while its output is blocked, and Ctrl-C still exits', async () => {
    const url = await start([], { events: 1_000, batchSize: 10 });
    const stdout = new PassThrough({ highWaterMark: 64 }); // nobody reads it
    const signals = new EventEmitter();
    const running = run([url, 'counter'], { signals, stdout });
    const polls = () => server!.requests.filter((r) => r.type === 'poll').length;
    // 100 items wait (the high-water mark) after 11 batches of 10, one event being written: then polling stops.
    expect(await until(() => polls() >= 11)).toBe(true);
    const blocked = polls();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(polls()).toBe(blocked);
    // The iterator's high-water mark (100) plus one batch bound what was fetched.
    expect(blocked).toBeLessThanOrEqual(12);
    signals.emit('SIGINT');
    expect((await running).code).toBe(130);
    expect(server!.closes).toHaveLength(1);
  });
});
