// The load generator, in its own process: N sessions of one peer, each on its own connection
// (one undici Client per session), each re-polling at once after every answer. It counts
// every event per session: delivered once, duplicated, skipped (lost) or reported as a gap.
import { peerNamed } from './peers/index.ts';
import { Histogram } from './stats.ts';
import type { LoadCommand, PeerSession } from './types.ts';
import { now } from './types.ts';

const [name, url] = process.argv.slice(2);
const peer = peerNamed(name);
const origin = new URL(url).origin;
const send = (message: unknown) => process.send?.(message);

interface Tracked {
  session: PeerSession;
  /** The next event id this session expects (events are published after every session is held). */
  next: number;
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
    if (result.events.length === 0 && result.gap === 0) counts.emptyPolls++;
    if (result.gap > 0) {
      counts.gapped += result.gap;
      t.next += result.gap;
    }
    for (const event of result.events) {
      if (event.i < t.next) {
        counts.duplicated++;
        continue;
      }
      if (event.i > t.next) counts.lost += event.i - t.next;
      t.next = event.i + 1;
      counts.delivered++;
      latency.add(at - event.t);
    }
  }
}

async function open(n: number, concurrency: number): Promise<void> {
  let next = 0;
  let opened = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < n) {
      next++;
      const t: Tracked = { session: peer.session(url, origin), next: 1 };
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
  // The lowest id every session has: once it reaches the last published, all have it.
  let minReceived = Infinity;
  let missing = 0;
  for (const t of tracked) {
    if (t.next - 1 < minReceived) minReceived = t.next - 1;
    if (last !== undefined && t.next - 1 < last) missing += last - (t.next - 1);
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
