// `npm run bench -- --quick`: every peer that can run here, and the reference server with the
// file and Redis logs, at a small N, in one run. It asserts
// only what must hold on any machine however loaded: every published event reached every
// session exactly once, for every peer and phase. Time is never judged here (see docs/bench.md).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);

it('delivers every event exactly once to every session of every peer (bench --quick)', { timeout: 900_000 }, async () => {
  const out = await mkdtemp(join(tmpdir(), 'xanjax-bench-'));
  try {
    await run(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out], { maxBuffer: 16 * 1024 * 1024 }).catch((error: { stderr?: string }) => {
      throw new Error(`bench --quick failed:\n${error.stderr ?? String(error)}`);
    });
    const report = JSON.parse(await readFile(join(out, 'bench.json'), 'utf8'));
    const rows = report.runs.flat() as Array<{ peer: string; lost: number; duplicated: number; holdAllMs: number; firstError?: string; burst: { deliveries: number } }>;
    // The durable logs are rows of their own (Redis: a redis-server the bench starts itself).
    expect(rows.map((r) => r.peer)).toEqual(expect.arrayContaining(['bare', 'reference', 'engine.io', 'faye', 'reference (file)', 'reference (redis)']));
    for (const row of rows) {
      expect({ peer: row.peer, lost: row.lost, duplicated: row.duplicated, failed: row.holdAllMs < 0 ? row.firstError : undefined }).toEqual({
        peer: row.peer,
        lost: 0,
        duplicated: 0,
        failed: undefined,
      });
      expect(row.burst.deliveries).toBeGreaterThan(0);
    }
    expect(await readFile(join(out, 'bench.md'), 'utf8')).toContain('lost / duplicated events');
    expect(await readFile(join(out, 'bench.svg'), 'utf8')).toMatch(/^<svg/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
