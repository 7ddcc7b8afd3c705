// The benchmark's outputs: a Markdown table (medians, and ratios to bare measured in the same
// run), the targets of issue 12 marked met or not, and an SVG chart of the ratios.
import { figureIn, format, METRICS, metric, ratioText } from './metrics.ts';
import type { Metric } from './metrics.ts';
import { MUX_PANEL_HEIGHT, muxSvgPanel, renderMuxMarkdown } from './report-mux.ts';
import type { MuxReport } from './report-mux.ts';
import { renderPairedMarkdown } from './paired.ts';
import type { PairedReport } from './paired.ts';
import type { Capacity, Measurement, Phases } from './scenario.ts';

export interface Row {
  peer: string;
  label: string;
  log?: string;
}

export interface BenchReport {
  date: string;
  commit: string;
  machine: Record<string, unknown>;
  quick: boolean;
  settings: { ns: number[]; runs: number; phases: Phases; holdMs: number; maxBatch: number; capacity: number; paired?: number };
  rows: string[];
  /** One array of measurements per interleaved run. */
  runs: Measurement[][];
  /** The multiplexing scenario (`--mux`), when it ran. */
  mux?: MuxReport;
  /** Paired broadcasts at the largest N (`--paired`), when they ran. */
  paired?: PairedReport;
  capacity: Capacity[];
  durationS: number;
}

/** Median over runs of the metric, and median over runs of its ratio to bare in the same run. */
export function figure(report: BenchReport, peer: string, n: number, metric: Metric): { value: number; ratio: number } {
  return figureIn(report.runs, peer, n, metric, 'bare');
}

interface Target {
  text: string;
  measured: string;
  met: boolean | undefined;
}

/** Issue 12's targets, for the reference (memory log) row at the largest N. */
export function targets(report: BenchReport): Target[] {
  const n = Math.max(...report.settings.ns);
  const small = Math.min(...report.settings.ns);
  const ref = (key: string, at = n) => figure(report, 'reference', at, metric(key));
  const eio = (key: string) => figure(report, 'engine.io', n, metric(key));
  const list: Target[] = [];
  const ratioAtMost = (text: string, key: string, limit: number, belowEngine: boolean) => {
    const r = ref(key);
    const e = eio(key);
    const engineOk = !belowEngine || !Number.isFinite(e.value) || r.value < e.value;
    list.push({
      text,
      measured: `${ratioText(r.ratio)} bare${belowEngine ? `; engine.io ${ratioText(e.ratio)}` : ''}`,
      met: Number.isFinite(r.ratio) ? r.ratio <= limit && engineOk : undefined,
    });
  };
  ratioAtMost('server CPU per delivery, broadcast: <= 1.15x bare and below engine.io', 'burstCpu', 1.15, true);
  ratioAtMost('server CPU per delivery, overload: <= 1.15x bare and below engine.io', 'overloadCpu', 1.15, true);
  ratioAtMost('heap per held session: <= 1.3x bare', 'heap', 1.3, false);
  ratioAtMost('broadcast p99: <= 1.15x bare', 'burstP99', 1.15, false);
  ratioAtMost('broadcast, last session has it: <= 1.15x bare', 'burstLast', 1.15, false);
  const rate = ref('overloadRate');
  const engineRate = eio('overloadRate');
  list.push({
    text: 'deliveries/s under overload: >= 0.9x bare and >= engine.io',
    measured: `${ratioText(rate.ratio)} bare; engine.io ${ratioText(engineRate.ratio)}`,
    met: Number.isFinite(rate.ratio) ? rate.ratio >= 0.9 && (!Number.isFinite(engineRate.value) || rate.value >= engineRate.value) : undefined,
  });
  if (small !== n) {
    const growth = ref('overloadCpu').value / ref('overloadCpu', small).value;
    list.push({
      text: `overload CPU per delivery at N=${n} within 1.3x of N=${small}`,
      measured: `${ratioText(growth)}`,
      met: Number.isFinite(growth) ? growth <= 1.3 : undefined,
    });
  }
  const cap = report.capacity.find((c) => c.peer === 'reference');
  if (report.settings.capacity > 0) {
    list.push({
      text: `${report.settings.capacity} sessions held through a hold expiry and re-poll`,
      measured: cap ? `${cap.heldAfterCycle} held after the cycle, ${cap.repolled} re-polls, ${cap.delivered} delivered` : 'not measured',
      met: cap ? cap.heldAfterCycle >= cap.n && cap.delivered >= cap.n && cap.lost === 0 : false,
    });
  }
  const all = [...report.runs.flat(), ...report.capacity, ...(report.paired?.peers ?? [])];
  const lost = all.reduce((s, m) => s + m.lost, 0);
  const duplicated = all.reduce((s, m) => s + m.duplicated, 0);
  list.push({ text: 'zero lost, zero duplicated events everywhere', measured: `lost ${lost}, duplicated ${duplicated}`, met: lost === 0 && duplicated === 0 });
  return list;
}

/** The targets' metrics split in two: what the SSP/1 wire costs bare's loop, and what the reference adds to that. */
function wireCost(report: BenchReport): string[] {
  const n = Math.max(...report.settings.ns);
  const keys = ['burstCpu', 'overloadCpu', 'overloadCpuPerAnswer', 'overloadBatch', 'heap', 'burstP99', 'burstLast', 'overloadRate'];
  const lines = [
    `## What the SSP/1 wire costs, and what the reference adds (N = ${n.toLocaleString('en-US')})`,
    '',
    'bare-ssp is bare\'s loop doing only what every SSP/1 server must (a POSTed JSON message, one HMAC per answer, the required headers, each event wrapped with its seq): its ratio to bare is the protocol\'s cost in Node, the reference\'s ratio to it the implementation\'s.',
    '',
    '| metric | reference / bare | bare-ssp / bare (the wire) | reference / bare-ssp (the implementation) |',
    '|---|---|---|---|',
  ];
  for (const key of keys) {
    const m = metric(key);
    const cells = [figure(report, 'reference', n, m).ratio, figure(report, 'bare-ssp', n, m).ratio, figureIn(report.runs, 'reference', n, m, 'bare-ssp').ratio];
    lines.push(`| ${m.label} | ${cells.map(ratioText).join(' | ')} |`);
  }
  lines.push('');
  const small = Math.min(...report.settings.ns);
  if (small === n) return lines;
  // Growth with N, the same figure for bare's own loop beside it: what the machine adds.
  const peers = ['bare', 'bare-ssp', 'reference'];
  lines.push(`| overload, N = ${n} / N = ${small} | ${peers.join(' | ')} |`, `|---|${peers.map(() => '---').join('|')}|`);
  for (const key of ['overloadCpu', 'overloadCpuPerAnswer']) {
    const m = metric(key);
    const growth = peers.map((peer) => figure(report, peer, n, m).value / figure(report, peer, small, m).value);
    lines.push(`| ${m.label} | ${growth.map(ratioText).join(' | ')} |`);
  }
  lines.push('');
  return lines;
}

export function renderMarkdown(report: BenchReport): string {
  const lines: string[] = [];
  const m = report.machine;
  lines.push(`# Benchmark: ${report.date} (commit ${report.commit})`, '');
  lines.push(
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, Linux ${m.kernel}; load average at start ${(m.loadAverageAtStart as number[]).join(' ')}; open-files limit ${m.openFilesLimit}.`,
  );
  const s = report.settings;
  lines.push(
    `Settings: N = ${s.ns.join(', ')}; ${s.runs} interleaved run(s), medians shown; ${s.phases.broadcasts} broadcasts; sustained ${s.phases.sustainedDeliveriesPerS} and overload ${s.phases.overloadDeliveriesPerS} deliveries/s asked for, ${s.phases.seconds} s each; hold ${s.holdMs} ms; at most ${s.maxBatch} events per answer where the server has a limit. ${report.quick ? '**Quick mode** (CI): only loss and duplication are meaningful.' : ''} Took ${report.durationS} s.`,
    '',
  );
  for (const n of s.ns) {
    lines.push(`## N = ${n.toLocaleString('en-US')}`, '');
    lines.push(`| metric | ${report.rows.join(' | ')} |`);
    lines.push(`|---|${report.rows.map(() => '---').join('|')}|`);
    for (const metric of METRICS) {
      const cells = report.rows.map((peer) => {
        const f = figure(report, peer, n, metric);
        return peer === 'bare' || !Number.isFinite(f.ratio) ? format(f.value, metric.unit) : `${format(f.value, metric.unit)} (${ratioText(f.ratio)})`;
      });
      lines.push(`| ${metric.label} | ${cells.join(' | ')} |`);
    }
    const loss = report.rows.map((peer) => {
      const all = report.runs.flat().filter((x) => x.peer === peer && x.n === n);
      const lost = all.reduce((a, x) => a + x.lost, 0);
      const dup = all.reduce((a, x) => a + x.duplicated, 0);
      const undelivered = all.reduce((a, x) => a + x.undelivered, 0);
      const errors = all.reduce((a, x) => a + x.errors, 0);
      return `${lost} / ${dup}${undelivered ? ` (${undelivered} undelivered by the deadline)` : ''}${errors ? ` (${errors} errors)` : ''}`;
    });
    lines.push(`| lost / duplicated events | ${loss.join(' | ')} |`, '');
    const failures = report.runs.flat().filter((x) => x.n === n && x.firstError);
    for (const f of failures) lines.push(`- ${f.peer}: ${f.firstError}`);
    if (failures.length) lines.push('');
  }
  if (report.paired) lines.push(...renderPairedMarkdown(report.paired));
  if (report.mux) lines.push(...renderMuxMarkdown(report.mux, report.quick));
  if (report.capacity.length > 0) {
    lines.push(`## Hold capacity: ${s.capacity.toLocaleString('en-US')} sessions, one hold expiry and re-poll, then a broadcast`, '');
    lines.push('| peer | time to hold all | heap / session | RSS / session | re-polls after expiry | held after the cycle | delivered | lost / duplicated |');
    lines.push('|---|---|---|---|---|---|---|---|');
    for (const c of report.capacity) {
      lines.push(
        `| ${c.peer} | ${format(c.holdAllMs, 'ms')} | ${format(c.heapBytesPerSession ?? Number.NaN, 'B')} | ${format(c.rssBytesPerSession, 'B')} | ${c.repolled} | ${c.heldAfterCycle} | ${c.delivered} | ${c.lost} / ${c.duplicated} |`,
      );
    }
    lines.push('');
  }
  if (!report.quick && report.rows.includes('reference')) {
    lines.push(`## Targets (issue 12), reference server with the memory log at N = ${Math.max(...s.ns).toLocaleString('en-US')}`, '');
    lines.push('| target | measured | met |', '|---|---|---|');
    for (const t of targets(report)) lines.push(`| ${t.text} | ${t.measured} | ${t.met === undefined ? 'not measured' : t.met ? 'yes' : '**no**'} |`);
    lines.push('');
    if (report.rows.includes('bare-ssp')) lines.push(...wireCost(report));
  }
  return `${lines.join('\n')}\n`;
}

/** Grouped bars: ratio to bare per metric (largest N), one bar per peer; the 1.0 line is bare. */
export function renderSvg(report: BenchReport): string {
  const n = Math.max(...report.settings.ns);
  const keys = ['burstCpu', 'overloadCpu', 'overloadCpuPerAnswer', 'overloadBatch', 'heap', 'burstP99', 'burstLast', 'overloadRate'];
  const metrics = keys.map(metric);
  const peers = report.rows.filter((p) => p !== 'bare');
  const colors = ['#2563eb', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6', '#64748b', '#0ea5e9'];
  const width = 900;
  const mainHeight = 420;
  const height = mainHeight + (report.mux ? MUX_PANEL_HEIGHT : 0);
  const left = 60;
  const top = 40;
  const plotH = 280;
  const groupW = (width - left - 20) / metrics.length;
  const barW = Math.min(28, (groupW - 20) / Math.max(1, peers.length));
  const maxRatio = 3;
  const y = (r: number) => top + plotH - (Math.min(r, maxRatio) / maxRatio) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="${left}" y="20" font-size="14">Ratio to a bare node:http hold loop, same run, N = ${n} (median of ${report.settings.runs}; lower is better except deliveries/s)</text>`);
  for (const r of [0, 0.5, 1, 1.5, 2, 2.5, 3]) {
    parts.push(`<line x1="${left}" x2="${width - 20}" y1="${y(r)}" y2="${y(r)}" stroke="${r === 1 ? '#000' : '#ddd'}"/>`);
    parts.push(`<text x="${left - 8}" y="${y(r) + 4}" text-anchor="end">${r}x</text>`);
  }
  metrics.forEach((metric, g) => {
    const x0 = left + g * groupW + 10;
    peers.forEach((peer, i) => {
      const { ratio } = figure(report, peer, n, metric);
      if (!Number.isFinite(ratio)) return;
      const x = x0 + i * barW;
      parts.push(`<rect x="${x}" y="${y(ratio)}" width="${barW - 2}" height="${top + plotH - y(ratio)}" fill="${colors[i % colors.length]}"><title>${peer}: ${ratio.toFixed(2)}x</title></rect>`);
    });
    parts.push(`<text x="${x0 + (groupW - 20) / 2}" y="${top + plotH + 16}" text-anchor="middle">${metric.label.replace('server CPU per delivery', 'CPU/delivery')}</text>`);
  });
  peers.forEach((peer, i) => {
    const x = left + i * 150;
    parts.push(`<rect x="${x}" y="${mainHeight - 40}" width="12" height="12" fill="${colors[i % colors.length]}"/><text x="${x + 18}" y="${mainHeight - 30}">${peer}</text>`);
  });
  if (report.mux) parts.push(muxSvgPanel(report.mux, mainHeight, width));
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
