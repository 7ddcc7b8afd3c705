// Paired broadcasts (`--paired K`): every peer holds its N sessions at the same time, and the
// broadcasts take turns, one peer after another, for K rounds. A round's peers are measured
// within seconds of each other, so what the shared machine does meanwhile (another tenant, the
// clock speed) falls on all of them alike; in the per-peer phases a peer's figures come from
// its own minute of the run. The broadcast comparison is then made round by round: the ratio
// of two peers in one round, and the median of those ratios over the rounds; beside it the
// ratio of the rounds' totals, which keeps the rounds a major collection fell into. It is a
// second view, not the targets' judge (those are the interleaved runs, as issue 12 sets
// them): every peer's sessions are held at once, a heavier machine than any one peer's phases.
import { format, ratioText } from './metrics.ts';
import { Run, until } from './scenario.ts';
import type { Progress } from './scenario.ts';
import { median } from './stats.ts';
import type { PeerOptions } from './types.ts';
import type { Row } from './report.ts';

/** One peer's broadcasts, one entry per round. */
export interface PairedPeer {
  peer: string;
  cpuMicrosPerDelivery: number[];
  p99: number[];
  lastMs: number[];
  lost: number;
  duplicated: number;
  errors: number;
  firstError?: string;
}

export interface PairedReport {
  n: number;
  rounds: number;
  holdMs: number;
  peers: PairedPeer[];
}

/**
 * A hold long enough that no held poll expires while the others take their turns: expiries
 * would come as a storm of N re-polls in the middle of another peer's broadcast.
 */
export const PAIRED_HOLD_MS = 600_000;

export async function pairedBroadcasts(rows: Row[], n: number, rounds: number, maxBatch: number, concurrency: number, drainMs: number, progress: Progress): Promise<PairedReport> {
  const runs: { row: Row; run: Run; result: PairedPeer }[] = [];
  try {
    for (const row of rows) {
      const label = `paired N=${n} ${row.label}`;
      const run = new Run();
      runs.push({ row, run, result: { peer: row.label, cpuMicrosPerDelivery: [], p99: [], lastMs: [], lost: 0, duplicated: 0, errors: 0 } });
      const options: PeerOptions = { holdMs: PAIRED_HOLD_MS, maxBatch, ...(row.log !== undefined && { log: row.log }) };
      await run.start(row.peer, label, options, progress);
      await run.open(n, concurrency, label, progress);
    }
    for (let round = 0; round < rounds; round++) {
      // Rotated, so no peer always follows the same one.
      for (let i = 0; i < runs.length; i++) {
        const { row, run, result } = runs[(i + round) % runs.length];
        progress(`paired N=${n}: round ${round + 1}/${rounds}, ${row.label}`);
        if (!(await until(async () => (await run.held()) >= n, 30_000, 20))) throw new Error(`${row.label}: not every session held again within 30 s`);
        const phase = await run.phase(1, 0, n, drainMs);
        result.cpuMicrosPerDelivery.push(phase.cpuMicrosPerDelivery);
        result.p99.push(phase.p99);
        result.lastMs.push(phase.lastMs);
      }
    }
    for (const { run, result } of runs) {
      const stats = await run.stats();
      Object.assign(result, { lost: stats.lost + stats.missing, duplicated: stats.duplicated, errors: stats.errors }, stats.firstError !== undefined && { firstError: stats.firstError });
    }
    return { n, rounds, holdMs: PAIRED_HOLD_MS, peers: runs.map((r) => r.result) };
  } finally {
    await Promise.allSettled(runs.map(({ run }) => run.stop()));
  }
}

export type PairedKey = 'cpuMicrosPerDelivery' | 'p99' | 'lastMs';

export interface PairedFigure {
  /** Median over rounds of the peer's figure. */
  value: number;
  /** Median over rounds of its ratio to the baseline's in the same round, and their range. */
  ratio: number;
  low: number;
  high: number;
  /** Sum over rounds of the peer's figure over the baseline's sum. */
  totalRatio: number;
}

export function pairedFigure(report: PairedReport, peer: string, key: PairedKey, baseline: string): PairedFigure {
  const mine = report.peers.find((p) => p.peer === peer)?.[key] ?? [];
  const theirs = report.peers.find((p) => p.peer === baseline)?.[key] ?? [];
  const ratios = mine.map((v, round) => v / theirs[round]).filter((r) => Number.isFinite(r));
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  return { value: median(mine), ratio: median(ratios), low: Math.min(...ratios), high: Math.max(...ratios), totalRatio: sum(mine) / sum(theirs) };
}

/** The paired rounds' table: per peer, medians over rounds and per-round ratios to bare and to engine.io. */
export function renderPairedMarkdown(report: PairedReport): string[] {
  const against = report.peers.some((p) => p.peer === 'engine.io') ? 'engine.io' : undefined;
  const lines = [
    `## Paired broadcasts: N = ${report.n.toLocaleString('en-US')}, ${report.rounds} rounds`,
    '',
    `Every peer held its N sessions at once; each round broadcast one event to each peer in turn (hold ${report.holdMs / 1000} s, so no hold expired meanwhile). Ratios are per round, to the peer in the same round; the median over rounds, the range in brackets.`,
    '',
    `| peer | server CPU per delivery | CPU / bare | all rounds' CPU / bare's | p99 / bare | last session / bare |${against ? ` CPU / ${against} | all rounds' CPU / ${against}'s |` : ''} lost / duplicated |`,
    `|---|---|---|---|---|---|${against ? '---|---|' : ''}---|`,
  ];
  const cell = (f: PairedFigure) => (Number.isFinite(f.ratio) ? `${ratioText(f.ratio)} [${f.low.toFixed(2)}-${f.high.toFixed(2)}]` : '–');
  for (const p of report.peers) {
    const cpu = pairedFigure(report, p.peer, 'cpuMicrosPerDelivery', 'bare');
    const vsAgainst = against && pairedFigure(report, p.peer, 'cpuMicrosPerDelivery', against);
    const cells = [
      format(cpu.value, 'µs'),
      p.peer === 'bare' ? '1x' : cell(cpu),
      ratioText(cpu.totalRatio),
      p.peer === 'bare' ? '1x' : cell(pairedFigure(report, p.peer, 'p99', 'bare')),
      p.peer === 'bare' ? '1x' : cell(pairedFigure(report, p.peer, 'lastMs', 'bare')),
      ...(vsAgainst ? [p.peer === against ? '1x' : cell(vsAgainst), ratioText(vsAgainst.totalRatio)] : []),
      `${p.lost} / ${p.duplicated}${p.errors ? ` (${p.errors} errors)` : ''}`,
    ];
    lines.push(`| ${p.peer} | ${cells.join(' | ')} |`);
  }
  lines.push('');
  return lines;
}
