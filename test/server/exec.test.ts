// `exec`: real child processes, one per session, stdout lines as events.
import { readFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import type { SspServer } from '../../reference-server/index.ts';
import { close, drain, open, poll, post, sleep, start } from './helpers.ts';

let server: SspServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** True while pid names a live (not zombie) process. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

it('streams each stdout line as an event and completes on exit 0; stderr stays out', async () => {
  server = await start({ exec: "printf 'one\\ntwo words\\n'; echo oops >&2; echo 'three {\"json\": 1}'", limits: { maxHoldMs: 1000 } });
  const sig = await open(server.url, 'exec');
  const { events, termination } = await drain(server.url, sig);
  expect(events).toEqual([
    { seq: 1, data: 'one' },
    { seq: 2, data: 'two words' },
    { seq: 3, data: 'three {"json": 1}' },
  ]);
  expect(termination).toMatchObject({ reason: 'complete', last: 3, advice: { action: 'none' } });
  expect(server.handler.stats().execProcesses).toBe(0);
});

it('ends with termination error carrying the exit code on a non-zero exit', async () => {
  server = await start({ exec: 'echo partial; exit 3', limits: { maxHoldMs: 1000 } });
  const sig = await open(server.url, 'exec');
  const { events, termination } = await drain(server.url, sig);
  expect(events.map((e) => e.data)).toEqual(['partial']);
  expect(termination).toMatchObject({ reason: 'error', last: 1, error: { message: 'command exited with code 3', code: 'exit-3' } });
});

it('kills the whole process group of a command that never ends when the session closes', async () => {
  server = await start({ exec: 'sleep 30 & echo $!; echo $$; wait', limits: { maxHoldMs: 1000 } });
  const sig = await open(server.url, 'exec');
  const pids: number[] = [];
  let current = sig;
  for (let i = 0; i < 20 && pids.length < 2; i++) {
    const r = await poll(server.url, current, 1000);
    pids.push(...r.json.events.map((e: { data: string }) => Number(e.data)));
    current = r.json.sig;
  }
  expect(pids.length).toBe(2);
  expect(pids.every(alive)).toBe(true);
  expect(server.handler.stats().execProcesses).toBe(1);
  expect((await close(server.url, current)).json.reason).toBe('closed');
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && (pids.some(alive) || server.handler.stats().execProcesses > 0)) await sleep(50);
  expect(pids.filter(alive)).toEqual([]);
  expect(server.handler.stats().execProcesses).toBe(0);
});

it('kills running commands at shutdown', async () => {
  server = await start({ exec: 'echo $$; exec sleep 30', limits: { maxHoldMs: 1000 } });
  const sig = await open(server.url, 'exec');
  const r = await poll(server.url, sig, 1000);
  const pid = Number(r.json.events[0].data);
  expect(alive(pid)).toBe(true);
  await server.close();
  server = undefined;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && alive(pid)) await sleep(50);
  expect(alive(pid)).toBe(false);
});

it('runs at most maxExec processes: more opens get too-many-sessions', async () => {
  server = await start({ exec: 'exec sleep 30', maxExec: 2 });
  await open(server.url, 'exec');
  await open(server.url, 'exec');
  const r = await post(server.url, { ssp: 1, type: 'open', stream: 'exec' });
  expect(r.status).toBe(503);
  expect(r.json).toMatchObject({ code: 'too-many-sessions', retryable: true });
  expect(r.headers['retry-after']).toBeDefined();
});
