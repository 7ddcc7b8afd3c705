// One peer at one N: hold N sessions, broadcast, sustained and overload phases, and the hold-
// capacity cycle. Servers and the load generator are separate processes; CPU and memory are
// the server's own accounting, latency is publish-to-receive measured by the load generator.
import { Child } from './child.ts';
import { peerNamed } from './peers/index.ts';
import type { LatencySummary } from './stats.ts';
import { median } from './stats.ts';
import type { PeerOptions } from './types.ts';

export interface Phases {
  /** Broadcasts of one event to all N. */
  broadcasts: number;
  /** Deliveries per second asked for in the sustained and overload phases (events/s × N). */
  sustainedDeliveriesPerS: number;
  overloadDeliveriesPerS: number;
  /** Seconds each of those two phases publishes for. */
  seconds: number;
  /** Sessions opened at once. */
  concurrency: number;
  /** Longest wait for every session to have every event (then the rest counts as missing). */
  drainMs: number;
}

export interface LoadPhase {
  deliveries: number;
  deliveriesPerS: number;
  cpuMicrosPerDelivery: number;
  loadgenCpuMicrosPerDelivery: number;
  p50: number;
  p99: number;
  /** Until the last session had the last event, from its publication. */
  lastMs: number;
  /** Wall time of the phase (first publish until every session had every event). */
  wallMs: number;
  /** CPU time over wall time, server and load generator: 1 is one core busy throughout. */
  serverCpuShare: number;
  loadgenCpuShare: number;
  /** Answers the load generator received (an answer can carry several events). */
  answers: number;
  /**
   * When the phase ran, in µs of the monotonic clock (process.hrtime), the clock V8 stamps a
   * --cpu-prof profile with: bench/profile-summary.ts --bench cuts profiles into phases by it.
   */
  window: [number, number];
}

export interface Measurement {
  peer: string;
  /** Streams: every broadcast is n deliveries. */
  n: number;
  /** Sessions (connections) holding them: n, or fewer when each session carries several streams. */
  sessions: number;
  holdAllMs: number;
  heapBytesPerSession: number | null;
  /**
   * The same after the broadcasts, every session held again: each connection has then carried
   * answered requests (the figure above is taken when a bare session's connection has carried
   * only its held poll, a reference session's also its answered open).
   */
  heapBytesPerSessionAnswered: number | null;
  rssBytesPerSession: number;
  burst: LoadPhase;
  sustained: LoadPhase;
  overload: LoadPhase;
  /** Events a session skipped (a later one arrived first, with no gap reported). */
  lost: number;
  duplicated: number;
  /** Events still on their way to some session when the last drain deadline passed. */
  undelivered: number;
  gapped: number;
  errors: number;
  firstError?: string;
}

export type Progress = (text: string) => void;

const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function until(check: () => Promise<boolean>, timeoutMs: number, pauseMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(pauseMs);
  }
  return false;
}

/** One peer's server process and load generator process, and the phases run through them. */
export class Run {
  server!: Child;
  load!: Child;
  last = 0;

  async start(peer: string, label: string, options: PeerOptions, progress: Progress): Promise<string> {
    progress(`${label}: starting`);
    // BENCH_SERVER_FLAGS / BENCH_LOADGEN_FLAGS add Node flags to the server / load generator
    // process (for example --cpu-prof).
    const flags = (name: string) => process.env[name]?.split(' ').filter(Boolean) ?? [];
    this.server = new Child('server-main.ts', [peer, JSON.stringify(options)], ['--expose-gc', '--max-old-space-size=8192', ...flags('BENCH_SERVER_FLAGS')]);
    const { url } = await this.server.next('ready', 60_000);
    this.load = new Child('loadgen.ts', [peer, url, JSON.stringify(options)], ['--max-old-space-size=8192', ...flags('BENCH_LOADGEN_FLAGS')]);
    await this.load.next('ready', 60_000);
    return url;
  }

  usage(gc = false) {
    return this.server.ask({ cmd: 'usage', gc }, 'usage').then((m) => m.usage as { cpuMicros: number; heapBytes?: number; rssBytes: number });
  }

  held(): Promise<number> {
    return this.server.ask({ cmd: 'held' }, 'held').then((m) => m.held as number);
  }

  stats(): Promise<any> {
    return this.load.ask({ cmd: 'stats', last: this.last }, 'stats');
  }

  async open(n: number, concurrency: number, label: string, progress: Progress): Promise<number> {
    const started = performance.now();
    this.load.onProgress = (m) => progress(`${label}: opened ${m.opened}/${n}`);
    // Opening is a real request for most peers: allow 100 ms per session on a starved machine.
    await this.load.ask({ cmd: 'open', n, concurrency }, 'opened', Math.max(300_000, n * 100));
    const allHeld = await until(async () => (await this.held()) >= n, 120_000, 50);
    if (!allHeld) throw new Error(`${label}: only ${await this.held()} of ${n} polls held after two minutes`);
    return performance.now() - started;
  }

  /** Publishes count events at `perSecond`, waits until every session has them; returns the phase figures. */
  async phase(count: number, intervalMs: number, n: number, drainMs: number): Promise<LoadPhase> {
    await this.load.ask({ cmd: 'reset' }, 'reset');
    const cpu0 = (await this.usage()).cpuMicros;
    const load0 = (await this.stats()).cpuMicros as number;
    const started = performance.now();
    const from = monotonicMicros();
    const { last } = await this.server.ask({ cmd: 'publish', count, intervalMs }, 'published', 600_000);
    this.last = last;
    await until(async () => (await this.stats()).minReceived >= last, drainMs, 10);
    const elapsedS = (performance.now() - started) / 1000;
    const window: [number, number] = [from, monotonicMicros()];
    const cpu1 = (await this.usage()).cpuMicros;
    const stats = await this.stats();
    const deliveries = stats.delivered as number;
    const latency = stats.latency as LatencySummary;
    return {
      deliveries,
      deliveriesPerS: deliveries / elapsedS,
      cpuMicrosPerDelivery: (cpu1 - cpu0) / Math.max(1, deliveries),
      loadgenCpuMicrosPerDelivery: (stats.cpuMicros - load0) / Math.max(1, deliveries),
      p50: latency.p50,
      p99: latency.p99,
      lastMs: latency.max,
      wallMs: elapsedS * 1000,
      serverCpuShare: (cpu1 - cpu0) / (elapsedS * 1e6),
      loadgenCpuShare: (stats.cpuMicros - load0) / (elapsedS * 1e6),
      answers: stats.polls as number,
      window,
    };
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.load?.stop(), this.server?.stop()]);
  }
}

/**
 * Every figure of one peer at one N: N streams, in N sessions or, when the peer's sessions
 * carry several streams each, in fewer; costs and memory are per stream (per delivery).
 */
export async function measure(peer: string, label: string, n: number, options: PeerOptions, phases: Phases, progress: Progress): Promise<Measurement> {
  const sessions = Math.ceil(n / (peerNamed(peer).streamsPerSession?.(options) ?? 1));
  const run = new Run();
  try {
    await run.start(peer, label, options, progress);
    const base = await run.usage(true);
    const holdAllMs = await run.open(sessions, phases.concurrency, label, progress);
    const holding = await run.usage(true);

    progress(`${label}: ${phases.broadcasts} broadcasts to ${n}`);
    const bursts: LoadPhase[] = [];
    for (let b = 0; b < phases.broadcasts; b++) {
      // Each broadcast starts with every session held again.
      await until(async () => (await run.held()) >= sessions, 30_000, 20);
      bursts.push(await run.phase(1, 0, n, phases.drainMs));
    }
    await until(async () => (await run.held()) >= sessions, 30_000, 20);
    const answered = await run.usage(true);
    const burst: LoadPhase = {
      deliveries: bursts.reduce((sum, b) => sum + b.deliveries, 0),
      deliveriesPerS: median(bursts.map((b) => b.deliveriesPerS)),
      cpuMicrosPerDelivery: bursts.reduce((s, b) => s + b.cpuMicrosPerDelivery * b.deliveries, 0) / Math.max(1, bursts.reduce((s, b) => s + b.deliveries, 0)),
      loadgenCpuMicrosPerDelivery: median(bursts.map((b) => b.loadgenCpuMicrosPerDelivery)),
      p50: median(bursts.map((b) => b.p50)),
      p99: median(bursts.map((b) => b.p99)),
      lastMs: median(bursts.map((b) => b.lastMs)),
      wallMs: median(bursts.map((b) => b.wallMs)),
      serverCpuShare: median(bursts.map((b) => b.serverCpuShare)),
      loadgenCpuShare: median(bursts.map((b) => b.loadgenCpuShare)),
      answers: bursts.reduce((sum, b) => sum + b.answers, 0),
      window: [bursts[0].window[0], bursts[bursts.length - 1].window[1]],
    };

    const rate = (deliveriesPerS: number) => Math.max(1, Math.round(deliveriesPerS / n));
    const sustainedRate = rate(phases.sustainedDeliveriesPerS);
    progress(`${label}: sustained, ${sustainedRate} events/s to ${n} for ${phases.seconds} s`);
    const sustained = await run.phase(sustainedRate * phases.seconds, 1000 / sustainedRate, n, phases.drainMs);
    const overloadRate = rate(phases.overloadDeliveriesPerS);
    progress(`${label}: overload, ${overloadRate} events/s to ${n} for ${phases.seconds} s`);
    const overload = await run.phase(overloadRate * phases.seconds, 1000 / overloadRate, n, phases.drainMs);

    const final = await run.stats();
    return {
      peer: label,
      n,
      sessions,
      holdAllMs,
      heapBytesPerSession: holding.heapBytes !== undefined && base.heapBytes !== undefined ? (holding.heapBytes - base.heapBytes) / n : null,
      heapBytesPerSessionAnswered: answered.heapBytes !== undefined && base.heapBytes !== undefined ? (answered.heapBytes - base.heapBytes) / n : null,
      rssBytesPerSession: (holding.rssBytes - base.rssBytes) / n,
      burst,
      sustained,
      overload,
      lost: final.lost,
      duplicated: final.duplicated,
      undelivered: final.missing,
      gapped: final.gapped,
      errors: final.errors,
      ...(final.firstError !== undefined && { firstError: final.firstError }),
    };
  } finally {
    await run.stop();
  }
}

export interface Capacity {
  peer: string;
  n: number;
  holdAllMs: number;
  heapBytesPerSession: number | null;
  rssBytesPerSession: number;
  /** Sessions whose hold expired and that polled again (empty answers seen). */
  repolled: number;
  heldAfterCycle: number;
  delivered: number;
  lost: number;
  duplicated: number;
  errors: number;
  firstError?: string;
}

/** N sessions held through a full hold expiry and re-poll, then one broadcast to all of them. */
export async function capacity(peer: string, label: string, n: number, options: PeerOptions, concurrency: number, progress: Progress): Promise<Capacity> {
  const run = new Run();
  try {
    await run.start(peer, label, options, progress);
    const base = await run.usage(true);
    const holdAllMs = await run.open(n, concurrency, label, progress);
    const holding = await run.usage(true);
    progress(`${label}: ${n} held; waiting out a ${options.holdMs} ms hold`);
    await run.load.ask({ cmd: 'reset' }, 'reset');
    await until(async () => (await run.stats()).emptyPolls >= n, options.holdMs * 3 + 30_000, 200);
    const repolled = (await run.stats()).emptyPolls as number;
    // Holds keep expiring and being re-polled, so the count moves: keep the most seen at once.
    let heldAfterCycle = 0;
    await until(async () => (heldAfterCycle = Math.max(heldAfterCycle, await run.held())) >= n, 30_000, 50);
    await run.phase(1, 0, n, 60_000);
    const final = await run.stats();
    return {
      peer: label,
      n,
      holdAllMs,
      heapBytesPerSession: holding.heapBytes !== undefined && base.heapBytes !== undefined ? (holding.heapBytes - base.heapBytes) / n : null,
      rssBytesPerSession: (holding.rssBytes - base.rssBytes) / n,
      repolled,
      heldAfterCycle,
      delivered: final.delivered,
      lost: final.lost + final.missing,
      duplicated: final.duplicated,
      errors: final.errors,
      ...(final.firstError !== undefined && { firstError: final.firstError }),
    };
  } finally {
    await run.stop();
  }
}
