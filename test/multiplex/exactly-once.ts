// The exactly-once test of issue 14 for one multiplexed session, run against each event log:
// twelve streams with mixed rates (counters that complete, endless tickers, a topic fed from
// outside the server), two of them added by a later poll; answers lost on the way (polls
// aborted mid-flight, and answers received but dropped); polls sent wherever `target` says
// (alternating instances, a restarted server); one disruption (`disrupt`) mid-stream. The
// client keeps the newest signature of every answer it accepts, re-sends unanswered changes
// (SSP-MUX-17), and checks every accepted answer against the positions it holds: each part's
// events follow the stream's position with no hole and no repeat, with the stream's own data.
import { request } from 'undici';
import { expect } from 'vitest';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Kind = 'counter' | 'ticker' | 'topic';
interface Spec {
  id: string;
  stream: string;
  params: Record<string, unknown>;
  kind: Kind;
}

const COUNT = 30;
const counter = (id: string, intervalMs: number): Spec => ({ id, stream: 'ssp.counter', params: { count: COUNT, intervalMs }, kind: 'counter' });
const ticker = (id: string, intervalMs: number): Spec => ({ id, stream: 'ssp.ticker', params: { intervalMs }, kind: 'ticker' });

export interface ExactlyOnceOptions {
  /** Where poll number n goes (and the open, n = 0); read again for every request. */
  target(n: number): string;
  /** The topic (offered as a stream of that name) and how events reach it from outside the server. */
  topic: string;
  publish(data: unknown): Promise<unknown>;
  /** Run once, mid-stream (after about a third of the events), while the client goes on polling: kill or restart a server. */
  disrupt?: () => Promise<void>;
}

export interface ExactlyOnceReport {
  polls: number;
  /** Polls aborted mid-flight, answers dropped after they arrived, requests that failed (a dead instance, 503). */
  aborted: number;
  dropped: number;
  failed: number;
}

/** Runs the session to its end and checks it (vitest `expect`); bounded in polls and time. */
export async function exactlyOnce(options: ExactlyOnceOptions): Promise<ExactlyOnceReport> {
  const topic: Spec = { id: 'news', stream: options.topic, params: {}, kind: 'topic' };
  const initial = [counter('c0', 5), counter('c1', 20), counter('c2', 60), counter('c3', 5), counter('c4', 40), ticker('t0', 30), ticker('t1', 120), ticker('t2', 400), topic, counter('c5', 100)];
  const later = [counter('c6', 15), ticker('t3', 60)];
  const specs = new Map([...initial, ...later].map((spec) => [spec.id, spec]));
  const seen = new Map<string, number[]>([...specs.keys()].map((id) => [id, []]));
  const ended = new Map<string, any>();
  const report: ExactlyOnceReport = { polls: 0, aborted: 0, dropped: 0, failed: 0 };

  const [first, ...rest] = initial;
  const opened = await send(options.target(0), { ssp: 1, type: 'open', stream: first!.stream, params: first!.params, extensions: ['multiplex'], ext: { multiplex: { id: first!.id, add: rest.map(wire) } } });
  expect(opened.status).toBe(200);
  expect(opened.json.ext.multiplex.added).toEqual(rest.map((spec) => spec.id));
  let sig: string = opened.json.sig;
  /** The position of every stream the signature names. */
  const positions = new Map(initial.map((spec) => [spec.id, 0]));

  // The topic's events, published from outside the server while the session runs.
  const PUBLISHED = 40;
  const publishing = (async () => {
    for (let i = 1; i <= PUBLISHED; i++) {
      await options.publish({ i });
      await sleep(60);
    }
  })();

  let pending: { add?: unknown[]; remove?: string[] } | undefined;
  let disruptedAt: Map<string, number> | undefined;
  let disruption: Promise<void> | undefined;
  const total = () => [...seen.values()].reduce((n, list) => n + list.length, 0);
  const tickersDone = () => [...specs.values()].filter((s) => s.kind === 'ticker').every((s) => seen.get(s.id)!.length >= (disruptedAt?.get(s.id) ?? 0) + 3);
  const countersDone = () => [...specs.values()].filter((s) => s.kind === 'counter').every((s) => ended.has(s.id));
  let removing = false;
  const deadline = Date.now() + 150_000;

  for (let n = 1; n <= 2000 && Date.now() < deadline; n++) {
    report.polls = n;
    if (n === 3) pending = { add: later.map(wire) };
    // Ready to finish: remove the tickers (each ends `closed` at the position this signature holds).
    if (!removing && countersDone() && seen.get('news')!.length === PUBLISHED && tickersDone() && (options.disrupt === undefined || disruptedAt !== undefined)) {
      removing = true;
      pending = { remove: [...specs.values()].filter((s) => s.kind === 'ticker').map((s) => s.id) };
    }
    if (removing && pending === undefined) break;
    // Aborted before, while or after the server answers (it answers ready events after batchDelayMs).
    const abort = n % 4 === 0 ? AbortSignal.timeout(Math.floor(Math.random() * 40)) : undefined;
    let answer: Reply;
    try {
      answer = await send(options.target(n), { ssp: 1, type: 'poll', sig, hold: 1000, ...(pending && { ext: { multiplex: pending } }) }, abort);
    } catch {
      if (abort?.aborted) report.aborted++;
      else {
        report.failed++;
        await sleep(100);
      }
      continue;
    }
    if (answer.status === 503) {
      report.failed++;
      await sleep(100);
      continue;
    }
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json.type).toBe('batch');
    // The answer arrived and is lost all the same: the next poll sends the same signature and changes.
    if (n % 7 === 0) {
      report.dropped++;
      continue;
    }
    const mux = answer.json.ext.multiplex;
    if (pending?.add) {
      expect(mux.added).toEqual(later.map((spec) => spec.id));
      for (const spec of later) if (!positions.has(spec.id)) positions.set(spec.id, 0);
    }
    for (const part of mux.streams) {
      const spec = specs.get(part.id)!;
      expect(positions.has(part.id), `a part for ${part.id}, which the signature does not name`).toBe(true);
      expect(part.gap).toBeUndefined();
      const position = positions.get(part.id)!;
      const seqs = part.events.map((event: { seq: number }) => event.seq);
      expect(seqs, `stream ${part.id} at position ${position}`).toEqual(seqs.map((_: number, k: number) => position + 1 + k));
      for (const event of part.events) expect(spec.kind === 'topic' ? event.data.i : event.data.n).toBe(event.seq);
      seen.get(part.id)!.push(...seqs);
      positions.set(part.id, position + seqs.length);
      if (part.termination) {
        expect(ended.has(part.id), `a second termination of ${part.id}`).toBe(false);
        ended.set(part.id, part.termination);
        positions.delete(part.id);
      }
    }
    pending = undefined;
    sig = answer.json.sig;
    if (options.disrupt && !disruptedAt && total() > 150) {
      disruptedAt = new Map([...seen].map(([id, list]) => [id, list.length]));
      disruption = options.disrupt();
    }
  }
  await Promise.all([publishing, disruption]);

  // Every stream once, in order; counters complete; tickers closed where the client removed them.
  for (const spec of specs.values()) {
    const list = seen.get(spec.id)!;
    expect(list, spec.id).toEqual(list.map((_, k) => k + 1));
    if (spec.kind === 'counter') {
      expect(list.length, spec.id).toBe(COUNT);
      expect(ended.get(spec.id), spec.id).toEqual({ reason: 'complete', last: COUNT, advice: { action: 'none' } });
    }
    if (spec.kind === 'ticker') expect(ended.get(spec.id), spec.id).toEqual({ reason: 'closed', last: list.length, advice: { action: 'none' } });
  }
  expect(seen.get('news')!.length).toBe(PUBLISHED);
  expect(ended.has('news')).toBe(false);

  // Closing ends the topic stream at the position held; the termination is the answer everywhere.
  const closed = await send(options.target(0), { ssp: 1, type: 'close', sig });
  expect(closed.json).toMatchObject({ type: 'termination', reason: 'closed' });
  expect(closed.json.ext.multiplex.streams).toEqual([{ id: 'news', events: [], termination: { reason: 'closed', last: PUBLISHED, advice: { action: 'none' } } }]);
  for (const n of [1, 2]) expect((await send(options.target(n), { ssp: 1, type: 'poll', sig, hold: 0 })).text).toBe(closed.text);
  return report;
}

function wire({ id, stream, params }: Spec) {
  return { id, stream, params };
}

interface Reply {
  status: number;
  text: string;
  json: any;
}

async function send(url: string, message: unknown, signal?: AbortSignal): Promise<Reply> {
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message), ...(signal && { signal }) });
  const text = await res.body.text();
  return { status: res.statusCode, text, json: text ? JSON.parse(text) : undefined };
}
