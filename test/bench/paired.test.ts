// The paired broadcasts' figures: a ratio is taken within each round, then the median over
// rounds, so a round the whole machine was slow in moves both peers alike.
import { expect, it } from 'vitest';
import { pairedFigure, renderPairedMarkdown } from '../../bench/paired.ts';
import type { PairedReport } from '../../bench/paired.ts';

const peer = (name: string, cpu: number[]) => ({ peer: name, cpuMicrosPerDelivery: cpu, p99: cpu, lastMs: cpu, lost: 0, duplicated: 0, errors: 0 });

const report: PairedReport = {
  n: 1000,
  rounds: 3,
  holdMs: 600_000,
  // Round 2 is slow for everyone: per-round ratios stay 0.9, the medians of values would not.
  peers: [peer('bare', [10, 40, 20]), peer('reference', [9, 36, 18]), peer('engine.io', [10, 40, 16])],
};

it('takes the median of per-round ratios, with their range, and the ratio of the totals', () => {
  expect(pairedFigure(report, 'reference', 'cpuMicrosPerDelivery', 'bare')).toEqual({ value: 18, ratio: 0.9, low: 0.9, high: 0.9, totalRatio: 0.9 });
  const vsEngine = pairedFigure(report, 'reference', 'cpuMicrosPerDelivery', 'engine.io');
  expect(vsEngine.ratio).toBeCloseTo(0.9);
  expect([vsEngine.low, vsEngine.high]).toEqual([0.9, 1.125]);
  // The totals keep the slow round's weight: 63 / 66.
  expect(vsEngine.totalRatio).toBeCloseTo(63 / 66);
});

it('renders one row per peer, with the ratio to engine.io when it ran', () => {
  const lines = renderPairedMarkdown(report);
  expect(lines[0]).toBe('## Paired broadcasts: N = 1,000, 3 rounds');
  expect(lines.find((l) => l.startsWith('| reference |'))).toBe('| reference | 18.00 µs | 0.90x [0.90-0.90] | 0.90x | 0.90x [0.90-0.90] | 0.90x [0.90-0.90] | 0.90x [0.90-1.13] | 0.95x | 0 / 0 |');
});
