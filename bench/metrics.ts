// What the reports show of a measurement: the metrics, their formatting, and medians over
// runs with ratios to a baseline row measured in the same run.
import type { LoadPhase, Measurement } from './scenario.ts';
import { median } from './stats.ts';

export interface Metric {
  key: string;
  label: string;
  unit: string;
  get(m: Measurement): number | null;
  /** Lower is better (costs, latencies) or higher (rates). */
  better: 'lower' | 'higher';
}

const phase = (name: 'burst' | 'sustained' | 'overload', field: Exclude<keyof LoadPhase, 'window'>) => (m: Measurement) => m[name][field];

export const METRICS: Metric[] = [
  { key: 'holdAll', label: 'time to hold all N', unit: 'ms', get: (m) => m.holdAllMs, better: 'lower' },
  { key: 'heap', label: 'heap per held session', unit: 'B', get: (m) => m.heapBytesPerSession, better: 'lower' },
  { key: 'heapAnswered', label: 'heap per held session, after the broadcasts', unit: 'B', get: (m) => m.heapBytesPerSessionAnswered, better: 'lower' },
  { key: 'rss', label: 'RSS per held session', unit: 'B', get: (m) => m.rssBytesPerSession, better: 'lower' },
  { key: 'burstCpu', label: 'server CPU per delivery, broadcast', unit: 'µs', get: phase('burst', 'cpuMicrosPerDelivery'), better: 'lower' },
  { key: 'burstP50', label: 'broadcast p50', unit: 'ms', get: phase('burst', 'p50'), better: 'lower' },
  { key: 'burstP99', label: 'broadcast p99', unit: 'ms', get: phase('burst', 'p99'), better: 'lower' },
  { key: 'burstLast', label: 'broadcast: last session has it', unit: 'ms', get: phase('burst', 'lastMs'), better: 'lower' },
  { key: 'sustainedRate', label: 'deliveries/s, sustained', unit: '/s', get: phase('sustained', 'deliveriesPerS'), better: 'higher' },
  { key: 'sustainedP99', label: 'p99 latency, sustained', unit: 'ms', get: phase('sustained', 'p99'), better: 'lower' },
  { key: 'sustainedCpu', label: 'server CPU per delivery, sustained', unit: 'µs', get: phase('sustained', 'cpuMicrosPerDelivery'), better: 'lower' },
  { key: 'overloadRate', label: 'deliveries/s, overload', unit: '/s', get: phase('overload', 'deliveriesPerS'), better: 'higher' },
  { key: 'overloadP99', label: 'p99 latency, overload', unit: 'ms', get: phase('overload', 'p99'), better: 'lower' },
  { key: 'overloadCpu', label: 'server CPU per delivery, overload', unit: 'µs', get: phase('overload', 'cpuMicrosPerDelivery'), better: 'lower' },
  // CPU per delivery under overload depends on how many events each answer carries, which a
  // server that answers sooner makes smaller: these two show that apart from the cost of an answer.
  { key: 'overloadBatch', label: 'events per answer, overload', unit: '', get: (m) => m.overload.deliveries / m.overload.answers, better: 'higher' },
  { key: 'overloadCpuPerAnswer', label: 'server CPU per answer, overload', unit: 'µs', get: (m) => (m.overload.cpuMicrosPerDelivery * m.overload.deliveries) / m.overload.answers, better: 'lower' },
  { key: 'loadgenCpu', label: 'load generator CPU per delivery, overload', unit: 'µs', get: phase('overload', 'loadgenCpuMicrosPerDelivery'), better: 'lower' },
];

export const metric = (key: string): Metric => METRICS.find((m) => m.key === key) as Metric;

function find(run: Measurement[], peer: string, n: number): Measurement | undefined {
  return run.find((m) => m.peer === peer && m.n === n);
}

/** Median over runs of the metric, and median over runs of its ratio to `baseline` in the same run. */
export function figureIn(runs: Measurement[][], peer: string, n: number, metric: Metric, baseline: string): { value: number; ratio: number } {
  const values: number[] = [];
  const ratios: number[] = [];
  for (const run of runs) {
    const m = find(run, peer, n);
    const b = find(run, baseline, n);
    const v = m ? metric.get(m) : null;
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    values.push(v);
    const bv = b ? metric.get(b) : null;
    if (bv !== null && bv !== undefined && Number.isFinite(bv) && bv !== 0) ratios.push(v / bv);
  }
  return { value: median(values), ratio: median(ratios) };
}

export function format(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '–';
  if (unit === 'B') return value >= 1024 ? `${(value / 1024).toFixed(1)} KiB` : `${Math.round(value)} B`;
  if (unit === '/s') return value >= 1000 ? `${Math.round(value / 1000)}k/s` : `${Math.round(value)}/s`;
  if (unit === 'ms') return value >= 100 ? `${Math.round(value)} ms` : `${value.toFixed(1)} ms`;
  return unit === '' ? value.toFixed(1) : `${value.toFixed(2)} ${unit}`;
}

export const ratioText = (r: number) => (Number.isFinite(r) ? `${r.toFixed(2)}x` : '–');
