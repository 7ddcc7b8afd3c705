// Summarizes V8 .cpuprofile files (from BENCH_SERVER_FLAGS / BENCH_LOADGEN_FLAGS=--cpu-prof):
// busy time, the garbage collector's share of it, and self time by function, by file and by kind
// (GC, socket writes, the project's own code, crypto, packages, Node's internals).
//
//   npx tsx bench/profile-summary.ts [--top 25] [--bench bench.json] FILE.cpuprofile ...
//
// With --bench (the bench.json of the run that made the profiles), each profile is cut into
// the phases of the measurement it overlaps (their `window`s, on the clock V8 stamps samples
// with) and each phase is summarized alone; without it, the whole profile.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface Phase {
  window: [number, number];
}
type Measured = { peer: string; n: number } & Record<'burst' | 'sustained' | 'overload', Phase>;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' }, bench: { type: 'string' } },
});
const top = Number(values.top);
const measured: Measured[] = values.bench ? (JSON.parse(readFileSync(values.bench, 'utf8')) as { runs: Measured[][] }).runs.flat() : [];

/** Where a frame's code lives, shortened: node internals, a package, or a project file. */
function place(url: string): string {
  if (url === '') return '(native)';
  if (url.startsWith('node:')) return url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  return url.replace(/^file:\/\/.*?\/(bench|reference-server|schemas|reference-client)\//, '$1/');
}

const SOCKET_WRITES = new Set(['writev', 'writeUtf8String', 'writeLatin1String', 'writeAsciiString', 'writeBuffer']);

/** What kind of work a frame is, for the shares a comparison between peers needs. */
function kind(functionName: string, url: string): string {
  if (functionName === '(garbage collector)') return 'garbage collector';
  if (SOCKET_WRITES.has(functionName)) return 'socket writes';
  if (functionName === '(program)') return 'V8 (program)';
  if (/^file:.*\/(bench|reference-server|schemas|reference-client)\//.test(url) && !url.includes('node_modules')) return 'project code';
  if (url.startsWith('node:internal/crypto') || /^base64/.test(functionName)) return 'crypto and base64';
  if (url.includes('node_modules')) return 'packages';
  return "Node's internals and other native";
}

const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)}%`.padStart(6);

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const end = profile.startTime + profile.timeDeltas.reduce((sum, d) => sum + d, 0);
  const m = measured.find((x) => x.burst.window[0] >= profile.startTime && x.overload.window[1] <= end);
  if (!m) {
    summarize(profile, `${basename(file)}`, -Infinity, Infinity);
    continue;
  }
  for (const phase of ['burst', 'sustained', 'overload'] as const) {
    summarize(profile, `${basename(file)} ${m.peer} N=${m.n} ${phase}`, ...m[phase].window);
  }
}

/** Self time per function of the samples taken between fromUs and toUs (the profile's clock). */
function summarize(profile: Profile, title: string, fromUs: number, toUs: number): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = profile.startTime;
  let wall = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (t < fromUs || t > toUs) return;
    wall += delta;
    self.set(id, (self.get(id) ?? 0) + delta);
  });
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  const byKind = new Map<string, number>();
  let idle = 0;
  let gc = 0;
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = (byId.get(id) as ProfileNode).callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    if (functionName === '(garbage collector)') gc += us;
    const name = `${functionName || '(anonymous)'} ${place(url)}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    byPlace.set(place(url), (byPlace.get(place(url)) ?? 0) + us);
    byKind.set(kind(functionName, url), (byKind.get(kind(functionName, url)) ?? 0) + us);
  }
  const busy = wall - idle;
  console.log(`\n${title}: ${(wall / 1e6).toFixed(2)} s sampled, busy ${(busy / 1e6).toFixed(2)} s (${pct(busy, wall).trim()}), GC ${pct(gc, busy).trim()} of busy`);
  const list = (title: string, map: Map<string, number>) => {
    console.log(`  ${title} (share of busy, self ms)`);
    for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us, busy)} ${String(Math.round(us / 1000)).padStart(7)}  ${name}`);
  };
  list('by function', byFunction);
  list('by file', byPlace);
  list('by kind', byKind);
}
