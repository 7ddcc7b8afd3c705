// Scenarios for the `multiplex` extension (spec §23.7, SSP-MUX-16/17): the scripted server
// offers it, and the client is asked to follow several streams (SSP_STREAMS, §20.5). A
// client that does not implement the extension — it says so with an `unsupported` line, or
// asks for it in no `open` — gets "not applicable" with the reason, never a failure.
import type { OutputLine, StreamSpec } from './contract.ts';
import { multiplexScript } from './scripted-multiplex.ts';
import { opens, polls, type ClientRun, type Fail, type Scenario } from './scenario-kit.ts';
import { streamName } from './scripted-server.ts';

const streams = (...ids: string[]): StreamSpec[] => ids.map((id) => ({ id, stream: streamName, params: { lane: id } }));

function notApplicable(run: ClientRun): string | undefined {
  const declared = run.lines.find((line): line is Extract<OutputLine, { unsupported: unknown }> => 'unsupported' in line && line.unsupported.feature === 'multiplex');
  if (declared) return `the client does not implement multiplex: ${declared.unsupported.reason}`;
  const asked = opens(run).some((open) => Array.isArray(open.message?.extensions) && (open.message.extensions as unknown[]).includes('multiplex'));
  return asked ? undefined : 'the client asked for the multiplex extension in no open (it follows its streams without it)';
}

const ofStream = (run: ClientRun, id: string) => run.lines.filter((line) => line.stream === id);
const seqsOf = (lines: OutputLine[]) => lines.flatMap((line) => ('seq' in line ? [line.seq] : []));

/** Stream `id` delivered `expected` exactly once, in order, and ended with `reason`. */
function stream(run: ClientRun, id: string, expected: number[], reason: string, fail: Fail): void {
  const lines = ofStream(run, id);
  if (seqsOf(lines).join() !== expected.join()) fail(`stream ${id}: the client printed events ${JSON.stringify(seqsOf(lines))}, expected ${JSON.stringify(expected)} exactly once, in order`);
  const end = lines.at(-1);
  if (!end || !('termination' in end) || end.termination.reason !== reason) fail(`stream ${id}: its last line is ${JSON.stringify(end ?? null)}, expected its termination (${reason})`);
}

function onePollAtATime(run: ClientRun, fail: Fail): void {
  const overlapping = polls(run).filter((poll) => poll.outstanding > 0);
  if (overlapping.length > 0) fail(`${overlapping.length} poll(s) were sent while another poll of the session was outstanding (SSP-CLIENT-8): one held poll serves every stream`);
}

export const multiplexScenarios: Scenario[] = [
  {
    id: 'SSP-MUX-16/exactly-once',
    title: 'MUST deliver each stream\'s events exactly once and in order, through re-delivered events and a lost answer, with one poll at a time',
    streams: streams('a', 'b', 'c'),
    script: () =>
      multiplexScript({
        lanes: { a: { count: 6, perBatch: 2 }, b: { count: 4, perBatch: 1 }, c: { count: 3, perBatch: 3 } },
        duplicates: true,
        drop: (poll) => poll === 3,
      }),
    timeoutMs: 20_000,
    notApplicable,
    judge(run, fail) {
      stream(run, 'a', [1, 2, 3, 4, 5, 6], 'complete', fail);
      stream(run, 'b', [1, 2, 3, 4], 'complete', fail);
      stream(run, 'c', [1, 2, 3], 'complete', fail);
      onePollAtATime(run, fail);
    },
  },
  {
    id: 'SSP-MUX-16/stream-end',
    title: 'MUST report a stream\'s gap and termination for that stream only: the session and the other streams go on',
    streams: streams('a', 'b', 'c'),
    script: () =>
      multiplexScript({
        lanes: {
          a: { count: 6, perBatch: 2, gapTo: { at: 2, to: 4 } },
          b: { count: 5, perBatch: 1, endAt: { at: 1, reason: 'error' } },
          c: { count: 8, perBatch: 1 },
        },
      }),
    timeoutMs: 20_000,
    notApplicable,
    judge(run, fail) {
      const gaps = run.lines.filter((line) => 'gap' in line);
      if (gaps.length !== 1 || gaps[0]!.stream !== 'a' || JSON.stringify((gaps[0] as { gap: unknown }).gap) !== '{"from":3,"to":4}') fail(`expected one gap line, for stream a, {"from":3,"to":4}; the client printed ${JSON.stringify(gaps)}`);
      stream(run, 'a', [1, 2, 5, 6], 'complete', fail);
      stream(run, 'b', [1], 'error', fail);
      stream(run, 'c', [1, 2, 3, 4, 5, 6, 7, 8], 'complete', fail);
      const bEnd = run.lines.findIndex((line) => line.stream === 'b' && 'termination' in line);
      if (!run.lines.slice(bEnd + 1).some((line) => line.stream === 'c' && 'seq' in line)) fail('stream c delivered nothing after stream b ended: a stream\'s termination must not end the others');
      if (opens(run).length !== 1) fail(`the client sent ${opens(run).length} opens: stream b's termination ended its stream, not the session`);
      onePollAtATime(run, fail);
    },
  },
  {
    id: 'SSP-MUX-17/lost-change',
    title: 'MUST send the same stream additions again with the next poll when the answer to the poll that carried them is lost',
    streams: streams('a', 'b', 'c'),
    script: () => {
      let dropped = false;
      return multiplexScript({
        lanes: { a: { count: 4, perBatch: 1 }, b: { count: 3, perBatch: 1 }, c: { count: 3, perBatch: 1 } },
        drop: (_, request) => {
          const carries = Array.isArray((request.message?.ext as { multiplex?: { add?: unknown } } | undefined)?.multiplex?.add);
          if (!carries || dropped) return false;
          return (dropped = true);
        },
      });
    },
    timeoutMs: 20_000,
    notApplicable: (run) => notApplicable(run) ?? (polls(run).some(addsOf) ? undefined : 'the client added every stream in its open: no poll carried changes that could be lost'),
    judge(run, fail) {
      const all = polls(run);
      const lost = all.find(addsOf)!;
      const next = all[all.indexOf(lost) + 1];
      const missing = addsOf(lost)!.filter((id) => !(addsOf(next) ?? []).includes(id));
      if (missing.length > 0) fail(`the answer to the poll adding ${JSON.stringify(addsOf(lost))} was lost; the next poll re-sent ${JSON.stringify(addsOf(next) ?? [])}, missing ${JSON.stringify(missing)}`);
      stream(run, 'a', [1, 2, 3, 4], 'complete', fail);
      stream(run, 'b', [1, 2, 3], 'complete', fail);
      stream(run, 'c', [1, 2, 3], 'complete', fail);
    },
  },
];

/** The stream ids a poll adds (ext.multiplex.add), or undefined. */
function addsOf(poll: ClientRun['requests'][number] | undefined): string[] | undefined {
  const add = (poll?.message?.ext as { multiplex?: { add?: Array<{ id: string }> } } | undefined)?.multiplex?.add;
  return Array.isArray(add) ? add.map((spec) => spec.id) : undefined;
}
