// `npm run bench -- --quick`: every peer that can run here (bare-ssp included), and the
// reference server with the file and Redis logs, at a small N, in one run, and the
// multiplexing scenario at a small size (20 sessions × 5 streams against 100 single-stream
// sessions). It asserts only what must hold on any machine however loaded: every published
// event reached every session (every stream of a multiplexed one) exactly once, for every peer
// and phase, and in the paired broadcasts (every peer held at once, broadcasts taking turns).
// Time is never judged here (see docs/bench.md).
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
    type Row = { peer: string; n: number; sessions: number; lost: number; duplicated: number; holdAllMs: number; firstError?: string; burst: { deliveries: number } };
    const rows = report.runs.flat() as Row[];
    // The durable logs are rows of their own (Redis: a redis-server the bench starts itself).
    expect(rows.map((r) => r.peer)).toEqual(expect.arrayContaining(['bare', 'bare-ssp', 'reference', 'engine.io', 'faye', 'reference (file)', 'reference (redis)']));
    const mux = report.mux.runs.flat() as Row[];
    expect(mux.map((r) => [r.peer, r.n, r.sessions])).toEqual([
      ['multiplexed', 100, 20],
      ['single-stream', 100, 100],
    ]);
    for (const row of [...rows, ...mux]) {
      expect({ peer: row.peer, lost: row.lost, duplicated: row.duplicated, failed: row.holdAllMs < 0 ? row.firstError : undefined }).toEqual({
        peer: row.peer,
        lost: 0,
        duplicated: 0,
        failed: undefined,
      });
      expect(row.burst.deliveries).toBeGreaterThan(0);
    }
    // Paired broadcasts: every peer held at once, two rounds of one broadcast each.
    const paired = report.paired as { n: number; rounds: number; peers: { peer: string; cpuMicrosPerDelivery: number[]; lost: number; duplicated: number; errors: number }[] };
    expect({ n: paired.n, rounds: paired.rounds }).toEqual({ n: 100, rounds: 2 });
    expect(paired.peers.map((p) => p.peer)).toEqual(rows.filter((r) => r.n === 100).map((r) => r.peer));
    for (const p of paired.peers) {
      expect({ peer: p.peer, lost: p.lost, duplicated: p.duplicated, errors: p.errors, rounds: p.cpuMicrosPerDelivery.length }).toEqual({ peer: p.peer, lost: 0, duplicated: 0, errors: 0, rounds: 2 });
    }
    const markdown = await readFile(join(out, 'bench.md'), 'utf8');
    expect(markdown).toContain('## Paired broadcasts: N = 100, 2 rounds');
    expect(markdown).toContain('lost / duplicated events');
    expect(markdown).toContain('## Multiplexing: 20 sessions × 5 streams vs 100 single-stream sessions');
    expect(await readFile(join(out, 'bench.svg'), 'utf8')).toMatch(/^<svg/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
