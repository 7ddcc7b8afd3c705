// The multiplexing scenario's part of the report (issue 14): S sessions × k streams against
// S·k single-stream sessions on the same k topics, per stream, with the ratio multiplexed /
// single-stream measured in the same run, and issue 14's claim marked met or not.
import { figureIn, format, metric, ratioText } from './metrics.ts';
import type { Metric } from './metrics.ts';
import type { Measurement } from './scenario.ts';

export interface MuxShape {
  /** Multiplexed sessions. */
  sessions: number;
  /** Streams per multiplexed session (topics of the server). */
  streams: number;
}

export interface MuxReport extends MuxShape {
  /** One pair of measurements (rows `multiplexed` and `single-stream`) per interleaved run. */
  runs: Measurement[][];
}

const MUX = 'multiplexed';
const SINGLE = 'single-stream';

// Per stream: in this scenario a "session" figure of the main table is divided by streams.
const ROWS: Array<[key: string, label: string]> = [
  ['holdAll', 'time to hold all streams'],
  ['heap', 'heap per held stream'],
  ['rss', 'RSS per held stream'],
  ['burstCpu', 'server CPU per delivery, broadcast'],
  ['burstP99', 'broadcast p99'],
  ['burstLast', 'broadcast: last stream has it'],
  ['sustainedCpu', 'server CPU per delivery, sustained'],
  ['overloadRate', 'deliveries/s, overload'],
  ['overloadP99', 'p99 latency, overload'],
  ['overloadCpu', 'server CPU per delivery, overload'],
  ['loadgenCpu', 'load generator CPU per delivery, overload'],
];

const figure = (mux: MuxReport, row: string, m: Metric) => figureIn(mux.runs, row, mux.sessions * mux.streams, m, SINGLE);

/** Issue 14: multiplexing must cost less server CPU per delivery and less memory per stream. */
export function muxTargets(mux: MuxReport): Array<{ text: string; measured: string; met: boolean | undefined }> {
  const lower = (text: string, key: string) => {
    const { ratio } = figure(mux, MUX, metric(key));
    return { text, measured: `${ratioText(ratio)} single-stream`, met: Number.isFinite(ratio) ? ratio < 1 : undefined };
  };
  const all = mux.runs.flat();
  const lost = all.reduce((s, m) => s + m.lost, 0);
  const duplicated = all.reduce((s, m) => s + m.duplicated, 0);
  return [
    lower('server CPU per delivery, broadcast: lower than single-stream sessions', 'burstCpu'),
    lower('server CPU per delivery, overload: lower than single-stream sessions', 'overloadCpu'),
    lower('heap per held stream: lower than single-stream sessions', 'heap'),
    lower('RSS per held stream: lower than single-stream sessions', 'rss'),
    { text: 'every event exactly once on every stream', measured: `lost ${lost}, duplicated ${duplicated}`, met: lost === 0 && duplicated === 0 },
  ];
}

/** The scenario's section of bench.md, as lines. */
export function renderMuxMarkdown(mux: MuxReport, quick: boolean): string[] {
  const n = mux.sessions * mux.streams;
  const count = (x: number) => x.toLocaleString('en-US');
  const lines: string[] = [];
  lines.push(`## Multiplexing: ${count(mux.sessions)} sessions × ${mux.streams} streams vs ${count(n)} single-stream sessions`, '');
  lines.push(
    `Reference server, memory log, ${mux.streams} topics; every broadcast publishes one event to each topic, so ${count(n)} deliveries either way. Figures are per stream; the last column is multiplexed / single-stream in the same run (below 1: multiplexing costs less).`,
    '',
  );
  lines.push(`| metric | ${MUX} (${count(mux.sessions)} × ${mux.streams}) | ${SINGLE} (${count(n)} × 1) | ${MUX} / ${SINGLE} |`, '|---|---|---|---|');
  for (const [key, label] of ROWS) {
    const m = metric(key);
    const multiplexed = figure(mux, MUX, m);
    const single = figure(mux, SINGLE, m);
    lines.push(`| ${label} | ${format(multiplexed.value, m.unit)} | ${format(single.value, m.unit)} | ${ratioText(multiplexed.ratio)} |`);
  }
  const loss = [MUX, SINGLE].map((row) => {
    const all = mux.runs.flat().filter((x) => x.peer === row);
    const sum = (f: (x: Measurement) => number) => all.reduce((a, x) => a + f(x), 0);
    const undelivered = sum((x) => x.undelivered);
    const errors = sum((x) => x.errors);
    return `${sum((x) => x.lost)} / ${sum((x) => x.duplicated)}${undelivered ? ` (${undelivered} undelivered by the deadline)` : ''}${errors ? ` (${errors} errors)` : ''}`;
  });
  lines.push(`| lost / duplicated events (per stream) | ${loss.join(' | ')} | |`, '');
  const failures = mux.runs.flat().filter((x) => x.firstError);
  for (const f of failures) lines.push(`- ${f.peer}: ${f.firstError}`);
  if (failures.length) lines.push('');
  if (!quick) {
    lines.push('| target (issue 14) | measured | met |', '|---|---|---|');
    for (const t of muxTargets(mux)) lines.push(`| ${t.text} | ${t.measured} | ${t.met === undefined ? 'not measured' : t.met ? 'yes' : '**no**'} |`);
    lines.push('');
  }
  return lines;
}

export const MUX_PANEL_HEIGHT = 230;

/** A panel of the SVG chart: multiplexed / single-stream per metric, the 1.0 line is single-stream. */
export function muxSvgPanel(mux: MuxReport, top: number, width: number): string {
  const keys = ['burstCpu', 'sustainedCpu', 'overloadCpu', 'heap', 'rss'];
  const left = 60;
  const plotH = 150;
  const maxRatio = 2;
  const y = (r: number) => top + 30 + plotH - (Math.min(r, maxRatio) / maxRatio) * plotH;
  const groupW = (width - left - 20) / keys.length;
  const parts: string[] = [];
  parts.push(
    `<text x="${left}" y="${top + 16}" font-size="14">Multiplexed (${mux.sessions} × ${mux.streams}) / single-stream sessions (${mux.sessions * mux.streams} × 1), per stream, same run (lower is better)</text>`,
  );
  for (const r of [0, 0.5, 1, 1.5, 2]) {
    parts.push(`<line x1="${left}" x2="${width - 20}" y1="${y(r)}" y2="${y(r)}" stroke="${r === 1 ? '#000' : '#ddd'}"/>`);
    parts.push(`<text x="${left - 8}" y="${y(r) + 4}" text-anchor="end">${r}x</text>`);
  }
  keys.forEach((key, g) => {
    const m = metric(key);
    const { ratio } = figure(mux, MUX, m);
    const x = left + g * groupW + groupW / 2 - 14;
    if (Number.isFinite(ratio)) {
      parts.push(`<rect x="${x}" y="${y(ratio)}" width="28" height="${y(0) - y(ratio)}" fill="#0ea5e9"><title>${ratio.toFixed(2)}x</title></rect>`);
    }
    const label = ROWS.find(([k]) => k === key)?.[1] ?? m.label;
    parts.push(`<text x="${x + 14}" y="${y(0) + 16}" text-anchor="middle">${label.replace('server CPU per delivery', 'CPU/delivery')}</text>`);
  });
  return parts.join('\n');
}
