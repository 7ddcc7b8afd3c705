// `npm run bench [-- options]`: the reference server against a bare node:http hold loop, the
// same loop speaking the SSP/1 wire (bare-ssp), engine.io (polling), faye and nginx+nchan, interleaved, in one run. See docs/bench.md.
//
//   --quick            CI mode: N=100, one run, short phases, no capacity scenario, the file
//                      and Redis logs as rows too (unless --log is given); exits 1 on any
//                      lost or duplicated event (it asserts nothing about time)
//   --n 1000,10000     session counts (default 1000,10000)
//   --runs 3           interleaved runs; figures are medians, ratios to bare of the same run
//   --peers a,b        subset of: bare, bare-ssp, reference, engine.io, faye, nchan, nchan-multipart
//   --log SPEC         another reference-server row with that event log (repeatable): file,
//                      file:DIR, redis (a redis-server the bench starts), redis://HOST:PORT
//   --seconds 3        length of the sustained and overload phases
//   --broadcasts 5     broadcasts in the burst phase (more of them average out a collection
//                      that falls inside or outside the phase on a noisy machine)
//   --paired 0         paired broadcasts: every peer holds the largest N at once and the
//                      broadcasts take turns among them for that many rounds, each round's
//                      peers measured within seconds of each other (default 0: skip; 2 in --quick)
//   --capacity 18000   sessions in the hold-capacity scenario (0: skip)
//   --mux 1000x10      multiplexing scenario: that many sessions × streams each against as many
//                      single-stream sessions as streams, on the reference server (0: skip;
//                      runs only when the reference peer is selected)
//   --out DIR          where bench.md, bench.json and bench.svg go (default bench/results)
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchLogs, quickLogs } from './logs.ts';
import { peers } from './peers/index.ts';
import { renderMarkdown, renderSvg } from './report.ts';
import type { BenchReport, Row } from './report.ts';
import type { MuxShape } from './report-mux.ts';
import { pairedBroadcasts } from './paired.ts';
import type { PairedReport } from './paired.ts';
import { capacity, measure } from './scenario.ts';
import type { Capacity, Measurement, Phases } from './scenario.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    n: { type: 'string' },
    runs: { type: 'string' },
    peers: { type: 'string' },
    log: { type: 'string', multiple: true, default: [] },
    seconds: { type: 'string' },
    broadcasts: { type: 'string' },
    capacity: { type: 'string' },
    paired: { type: 'string' },
    mux: { type: 'string' },
    out: { type: 'string', default: 'bench/results' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  // The options are documented once, in this file's header comment.
  const header = (await import('node:fs')).readFileSync(new URL(import.meta.url), 'utf8').split('\n');
  const usage = header.slice(0, header.findIndex((line) => !line.startsWith('//'))).map((line) => line.replace(/^\/\/ ?/, ''));
  console.log(usage.join('\n'));
  process.exit(0);
}

const quick = values.quick ?? false;
const ns = (values.n ?? (quick ? '100' : '1000,10000')).split(',').map(Number);
const runs = Number(values.runs ?? (quick ? 1 : 3));
const capacityN = Number(values.capacity ?? (quick ? 0 : 18_000));
const pairedRounds = Number(values.paired ?? (quick ? 2 : 0));
const phases: Phases = {
  broadcasts: Number(values.broadcasts ?? (quick ? 2 : 5)),
  sustainedDeliveriesPerS: quick ? 2_000 : 50_000,
  overloadDeliveriesPerS: quick ? 10_000 : 300_000,
  seconds: Number(values.seconds ?? (quick ? 1 : 3)),
  concurrency: 256,
  drainMs: quick ? 20_000 : 60_000,
};
if (!Number.isSafeInteger(phases.broadcasts) || phases.broadcasts < 1) {
  console.error(`bench: --broadcasts takes a whole number of at least 1, not '${values.broadcasts}'`);
  process.exit(2);
}
if (!Number.isSafeInteger(pairedRounds) || pairedRounds < 0) {
  console.error(`bench: --paired takes a whole number of rounds (0 skips them), not '${values.paired}'`);
  process.exit(2);
}
const muxShape = parseMux(values.mux ?? (quick ? '20x5' : '1000x10'));
const HOLD_MS = 25_000;
const MAX_BATCH = 100;

const wanted = values.peers?.split(',');
const logSpecs = values.log && values.log.length > 0 ? values.log : quick ? quickLogs() : [];
const durable = await benchLogs(logSpecs);
const rows: Row[] = [];
for (const peer of peers) {
  if (wanted && !wanted.includes(peer.name)) continue;
  const why = peer.unavailable?.();
  if (why) {
    console.error(`bench: skipping ${peer.name}: ${why}`);
    continue;
  }
  rows.push({ peer: peer.name, label: peer.name });
  if (peer.name === 'reference') for (const { label, log } of durable.rows) rows.push({ peer: 'reference', label: `reference (${label})`, log });
}
if (!rows.some((r) => r.peer === 'bare')) rows.unshift({ peer: 'bare', label: 'bare' });

const tty = process.stderr.isTTY;
let lastLine = '';
const progress = (text: string) => {
  const line = `bench ${new Date().toISOString().slice(11, 19)} ${text}`;
  if (tty) process.stderr.write(`\r\x1b[K${line.slice(0, process.stderr.columns - 1)}`);
  else if (line !== lastLine) process.stderr.write(`${line}\n`);
  lastLine = line;
};

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

const measurements: Measurement[][] = [];
const muxRuns: Measurement[][] = [];
let paired: PairedReport | undefined;
const runMux = muxShape !== undefined && rows.some((r) => r.peer === 'reference');
const started = Date.now();
for (let run = 0; run < runs; run++) {
  const results: Measurement[] = [];
  for (const n of ns) {
    // Interleaved: every peer once per run, in a rotated order, so drift on a shared machine
    // spreads over all of them rather than favouring whoever ran first.
    const order = rows.map((_, i) => rows[(i + run) % rows.length]);
    for (const row of order) {
      const label = `run ${run + 1}/${runs} N=${n} ${row.label}`;
      const options = { holdMs: HOLD_MS, maxBatch: MAX_BATCH, ...(row.log !== undefined && { log: row.log }) };
      try {
        results.push({ ...(await measure(row.peer, label, n, options, phases, progress)), peer: row.label });
      } catch (error) {
        progress(`${label}: failed: ${(error as Error).message}`);
        if (tty) process.stderr.write('\n');
        results.push(failed(row.label, n, (error as Error).message));
      }
    }
    // Written after every N of every run, so a long run that is stopped still leaves its figures.
    await write([], [...measurements, results]);
  }
  measurements.push(results);
  if (runMux) {
    muxRuns.push(await measureMux(muxShape, run));
    await write([], measurements);
  }
}

if (pairedRounds > 0) {
  const n = Math.max(...ns);
  try {
    paired = await pairedBroadcasts(rows, n, pairedRounds, MAX_BATCH, phases.concurrency, phases.drainMs, progress);
  } catch (error) {
    progress(`paired N=${n}: failed: ${(error as Error).message}`);
    if (tty) process.stderr.write('\n');
    process.exitCode = 1;
  }
  await write([], measurements);
}

const capacities: Capacity[] = [];
if (capacityN > 0) {
  for (const row of rows.filter((r) => r.peer === 'bare' || r.peer === 'reference')) {
    const label = `capacity N=${capacityN} ${row.label}`;
    // A short hold, so the scenario sees every session's hold expire and re-poll.
    const options = { holdMs: 5000, maxBatch: MAX_BATCH, ...(row.log !== undefined && { log: row.log }) };
    try {
      capacities.push({ ...(await capacity(row.peer, label, capacityN, options, phases.concurrency, progress)), peer: row.label });
    } catch (error) {
      progress(`${label}: failed: ${(error as Error).message}`);
      if (tty) process.stderr.write('\n');
    }
  }
}
if (tty) process.stderr.write('\n');
await durable.dispose();
const report = await write(capacities, measurements);
console.log(renderMarkdown(report));
console.error(`bench: wrote ${join(values.out, 'bench.md')}, bench.json and bench.svg`);

// Quick mode drains completely at its small N, so anything undelivered counts as lost there.
const pairedChecks = (paired?.peers ?? []).map((p) => ({ ...p, n: Math.max(...ns), holdAllMs: 0 }));
const bad = [...measurements.flat(), ...muxRuns.flat(), ...capacities, ...pairedChecks].filter(
  (m) => m.lost > 0 || m.duplicated > 0 || m.holdAllMs < 0 || (quick && 'undelivered' in m && m.undelivered > 0),
);
if (bad.length > 0) {
  console.error(`bench: LOST OR DUPLICATED EVENTS: ${bad.map((m) => `${m.peer} N=${m.n}: lost ${m.lost}, duplicated ${m.duplicated}`).join('; ')}`);
  process.exitCode = 1;
}

async function write(capacity: Capacity[], runsSoFar: Measurement[][]): Promise<BenchReport> {
  const report: BenchReport = {
  date: new Date(started).toISOString(),
  commit: commit(),
  machine: {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: os.release(),
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    openFilesLimit: execFileSync('/bin/sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim(),
  },
  quick,
  settings: { ns, runs, phases, holdMs: HOLD_MS, maxBatch: MAX_BATCH, capacity: capacityN, paired: pairedRounds },
  rows: rows.map((r) => r.label),
  runs: runsSoFar,
  ...(runMux && { mux: { ...muxShape, runs: muxRuns } }),
  ...(paired && { paired }),
  capacity,
  durationS: Math.round((Date.now() - started) / 1000),
  };
  await mkdir(values.out, { recursive: true });
  await writeFile(join(values.out, 'bench.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(values.out, 'bench.md'), renderMarkdown(report));
  await writeFile(join(values.out, 'bench.svg'), renderSvg(report));
  return report;
}

/** `SESSIONSxSTREAMS` (e.g. 1000x10), or 0 / none to skip the multiplexing scenario. */
function parseMux(text: string): MuxShape | undefined {
  if (text === '0' || text === 'none') return undefined;
  const match = /^(\d+)x(\d+)$/.exec(text);
  const [sessions, streams] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
  // The reference server carries at most 32 streams per multiplexed session by default.
  if (sessions < 1 || streams < 2 || streams > 32) {
    console.error(`bench: --mux wants SESSIONSxSTREAMS with 2 to 32 streams (e.g. 1000x10), or 0; got '${text}'`);
    process.exit(2);
  }
  return { sessions, streams };
}

/**
 * One interleaved run of the multiplexing scenario: `sessions` multiplexed sessions of
 * `streams` streams each, and as many single-stream sessions as that makes streams, on the
 * same topics of the reference server (memory log); the order alternates between runs.
 */
async function measureMux(shape: MuxShape, run: number): Promise<Measurement[]> {
  const n = shape.sessions * shape.streams;
  const options = { holdMs: HOLD_MS, maxBatch: MAX_BATCH, topics: shape.streams };
  const pair = [
    { peer: 'reference-mux', label: 'multiplexed' },
    { peer: 'reference', label: 'single-stream' },
  ];
  const results: Measurement[] = [];
  for (const { peer, label: row } of run % 2 ? pair.reverse() : pair) {
    const label = `run ${run + 1}/${runs} mux ${row} (${n} streams)`;
    try {
      results.push({ ...(await measure(peer, label, n, options, phases, progress)), peer: row });
    } catch (error) {
      progress(`${label}: failed: ${(error as Error).message}`);
      if (tty) process.stderr.write('\n');
      results.push(failed(row, n, (error as Error).message));
    }
  }
  return results;
}

function failed(peer: string, n: number, error: string): Measurement {
  const none = { deliveries: 0, deliveriesPerS: Number.NaN, cpuMicrosPerDelivery: Number.NaN, loadgenCpuMicrosPerDelivery: Number.NaN, p50: Number.NaN, p99: Number.NaN, lastMs: Number.NaN, wallMs: Number.NaN, serverCpuShare: Number.NaN, loadgenCpuShare: Number.NaN, answers: 0, window: [0, 0] as [number, number] };
  return { peer, n, sessions: n, holdAllMs: -1, heapBytesPerSession: null, heapBytesPerSessionAnswered: null, rssBytesPerSession: Number.NaN, burst: none, sustained: none, overload: none, lost: 0, duplicated: 0, undelivered: 0, gapped: 0, errors: 1, firstError: error };
}
