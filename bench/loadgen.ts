// The load generator, in its own process: N sessions of one peer, each on its own connection
// (one undici Client per session), each re-polling at once after every answer. It counts
// every event per stream (a session carries one, or several when multiplexed): delivered
// once, duplicated, skipped (lost) or reported as a gap.
import { peerNamed } from './peers/index.ts';
import { Histogram } from './stats.ts';
import type { LoadCommand, PeerOptions, PeerSession, PollResult } from './types.ts';
import { now } from './types.ts';

const [name, url, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson) as PeerOptions;
const peer = peerNamed(name);
const origin = new URL(url).origin;
const send = (message: unknown) => process.send?.(message);

interface Tracked {
  session: PeerSession;
  /** Per stream, the next event id it expects (events are published after every session is held). */
  next: number[];
}

const tracked: Tracked[] = [];
const latency = new Histogram();
let stopping = false;
const counts = { delivered: 0, duplicated: 0, lost: 0, gapped: 0, errors: 0, polls: 0, emptyPolls: 0 };
let firstError: string | undefined;

async function loop(t: Tracked): Promise<void> {
  while (!stopping) {
    let result;
    try {
      result = await t.session.poll();
    } catch (error) {
      if (stopping) return;
      counts.errors++;
      firstError ??= String(error);
      await new Promise((resolve) => setTimeout(resolve, 200));
      continue;
    }
    const at = now();
    counts.polls++;
    const results = Array.isArray(result) ? result : [result];
    if (results.every((r) => r.events.length === 0 && r.gap === 0)) counts.emptyPolls++;
    results.forEach((r, stream) => count(t, stream, r, at));
  }
}

function count(t: Tracked, stream: number, result: PollResult, at: number): void {
  let next = t.next[stream];
  if (next === undefined) throw new Error(`stream ${stream} of a session that carries ${t.next.length}`);
  if (result.gap > 0) {
    counts.gapped += result.gap;
    next += result.gap;
  }
  for (const event of result.events) {
    if (event.i < next) {
      counts.duplicated++;
      continue;
    }
    if (event.i > next) counts.lost += event.i - next;
    next = event.i + 1;
    counts.delivered++;
    latency.add(at - event.t);
  }
  t.next[stream] = next;
}

async function open(n: number, concurrency: number): Promise<void> {
  let next = 0;
  let opened = 0;
  const streamsPerSession = peer.streamsPerSession?.(options) ?? 1;
  const started = performance.now();
  const worker = async () => {
    while (next < n) {
      const t: Tracked = { session: peer.session(url, origin, options, next++), next: Array.from({ length: streamsPerSession }, () => 1) };
      for (let attempt = 0; ; attempt++) {
        try {
          await t.session.open();
          break;
        } catch (error) {
          if (attempt >= 5) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)));
        }
      }
      tracked.push(t);
      void loop(t);
      if (++opened % 500 === 0) send({ type: 'progress', opened });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  send({ type: 'opened', opened, ms: performance.now() - started });
}

/** `last`: the newest published id; events up to it that a session still lacks count as missing. */
function stats(last: number | undefined) {
  // The lowest id every stream has: once it reaches the last published, all have it.
  let minReceived = Infinity;
  let missing = 0;
  for (const t of tracked) {
    for (const next of t.next) {
      if (next - 1 < minReceived) minReceived = next - 1;
      if (last !== undefined && next - 1 < last) missing += last - (next - 1);
    }
  }
  const cpu = process.cpuUsage();
  return {
    type: 'stats',
    sessions: tracked.length,
    minReceived: tracked.length ? minReceived : 0,
    missing,
    ...counts,
    latency: latency.summary(),
    cpuMicros: cpu.user + cpu.system,
    ...(firstError !== undefined && { firstError }),
  };
}

process.on('message', (message: LoadCommand) => {
  void (async () => {
    switch (message.cmd) {
      case 'open':
        return open(message.n, message.concurrency);
      case 'reset':
        latency.reset();
        // Loss, duplication, gaps and errors count over the whole run; the rest per phase.
        counts.delivered = counts.polls = counts.emptyPolls = 0;
        return send({ type: 'reset' });
      case 'stats':
        return send(stats(message.last));
      case 'close':
        stopping = true;
        await Promise.allSettled(tracked.map((t) => t.session.close()));
        send({ type: 'closed' });
        process.exit(0);
    }
  })().catch((error: unknown) => {
    send({ type: 'failed', error: String(error) });
  });
});
send({ type: 'ready' });
