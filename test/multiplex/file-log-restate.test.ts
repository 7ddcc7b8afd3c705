// A multiplexed session restated after a restart on the same file log (spec §23.6): the
// stream's events appended before the restart are still in the log, so its producer must go
// on after them, not from the client's position. Found by the demo page's restart test,
// where the page's subscription (multiplexed) showed one event too many.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect, it } from 'vitest';
import { post, start } from '../server/helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'xanjax-mux-restate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('a restated stream resumes where its log ends: every event once, its data matching its seq', async () => {
  const options = { conformance: true, secret: 'mux-file-restate-secret', log: `file:${join(dir, 'log')}` };
  const spec = { id: 'c', stream: 'ssp.counter', params: { count: 10, intervalMs: 40 } };
  const a = await start(options);
  const opened = await post(a.url, { ssp: 1, type: 'open', stream: spec.stream, params: spec.params, extensions: ['multiplex'], ext: { multiplex: { id: spec.id } } });
  expect(opened.json.type).toBe('session');
  // The producer appends while the client reads nothing: its position stays 0, the log's head grows.
  await sleep(200);
  await a.close();
  const b = await start(options);
  try {
    let sig = opened.json.sig as string;
    const events: Array<{ seq: number; data: { n: number } }> = [];
    let termination: { reason: string; last: number } | undefined;
    for (let i = 0; i < 50 && !termination; i++) {
      const r = await post(b.url, { ssp: 1, type: 'poll', sig, hold: 1000, ext: { multiplex: { restate: [spec] } } });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      for (const part of r.json.ext.multiplex.streams) {
        events.push(...part.events);
        termination ??= part.termination;
      }
      sig = r.json.sig;
    }
    expect(events.map((event) => event.seq)).toEqual(Array.from({ length: 10 }, (_, k) => k + 1));
    expect(events.map((event) => event.data.n)).toEqual(events.map((event) => event.seq));
    expect(termination).toMatchObject({ reason: 'complete', last: 10 });
  } finally {
    await b.close();
  }
});
