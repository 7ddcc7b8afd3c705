// Structural checks of server messages (SSP/1 §6 and the schemas). Hand-written rather than ajv so
// the browser bundle stays a few kilobytes. Messages are closed (§6.1): a member not defined for
// the type makes the answer invalid (SSP-CLIENT-19), except inside `ext`, the extension point,
// whose members a client ignores when it does not understand them (SSP-CLIENT-21). Error codes,
// termination reasons and advice actions are open registries: unknown values are accepted here
// and given their meaning by the subscription (SSP-CLIENT-22, SSP-CLIENT-23).
import type { ServerMessage } from '../schemas/types.gen.ts';

export type Parsed = { ok: true; message: ServerMessage } | { ok: false; problem: string };

const signaturePattern = /^[A-Za-z0-9_.~-]{16,2048}$/;

// The members each message type defines (schemas/*.schema.json), plus `ext` (every message may carry it).
const members: Record<string, Set<string>> = {
  session: new Set(['ssp', 'type', 'sig', 'stream', 'position', 'extensions', 'ext']),
  batch: new Set(['ssp', 'type', 'sig', 'gap', 'events', 'ext']),
  termination: new Set(['ssp', 'type', 'sig', 'reason', 'last', 'advice', 'error', 'ext']),
  error: new Set(['ssp', 'type', 'code', 'message', 'retryable', 'retryAfterMs', 'details', 'versions', 'ext']),
  event: new Set(['seq', 'data']), // an event is not a message: its extension data goes in the batch's `ext`
  gap: new Set(['from', 'to']),
  part: new Set(['id', 'gap', 'events', 'termination']),
  advice: new Set(['action', 'delayMs']),
  'termination error': new Set(['message', 'code']),
};

/** The first member of `value` that `kind` does not define, as a problem. */
function extraMember(kind: string, value: Json): string | undefined {
  const allowed = members[kind]!;
  const extra = Object.keys(value).find((key) => !allowed.has(key));
  return extra === undefined ? undefined : `${kind} has a member ${JSON.stringify(extra)} not defined for it (extensions go in "ext")`;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown, min: number): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min;
const isName = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

export function parseServerMessage(text: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'body is not JSON' };
  }
  if (!isObject(value)) return { ok: false, problem: 'body is not a JSON object' };
  if (value.ssp !== 1) return { ok: false, problem: `"ssp" is ${JSON.stringify(value.ssp)}, expected 1` };
  const problem = problemOf(value);
  return problem === undefined ? { ok: true, message: value as unknown as ServerMessage } : { ok: false, problem };
}

function problemOf(m: Json): string | undefined {
  const type = typeof m.type === 'string' ? m.type : '';
  const allowed = members[type];
  if (!allowed) return `unknown message type ${JSON.stringify(m.type)}`;
  const extra = extraMember(type, m);
  if (extra !== undefined) return extra;
  if (m.ext !== undefined && !isObject(m.ext)) return `${type} "ext" is not an object`;
  switch (type) {
    case 'session':
      if (typeof m.stream !== 'string') return 'session "stream" is not a string';
      if (m.extensions !== undefined && !(Array.isArray(m.extensions) && m.extensions.every(isName))) return 'session "extensions" is not a list of names';
      return sigProblem(m) ?? (isCount(m.position, 0) ? undefined : 'session "position" is not an integer >= 0');
    case 'batch':
      return sigProblem(m) ?? batchProblem(m);
    case 'termination':
      return sigProblem(m) ?? terminationProblem(m);
    default:
      return errorProblem(m);
  }
}

function sigProblem(m: Json): string | undefined {
  return typeof m.sig === 'string' && signaturePattern.test(m.sig) ? undefined : `${m.type} "sig" is not a valid signature`;
}

function batchProblem(m: Json): string | undefined {
  return eventsProblem('batch', m.events, m.gap);
}

// §9: each event is {seq, data}; a gap has from <= to and the batch goes on at gap.to + 1
// (SSP-DELIVERY-14). Non-consecutive seqs are not checked here: they are a skip (SSP-CLIENT-7).
// `what` names the batch, or a stream's part of one (§23.4: each part follows §9).
function eventsProblem(what: string, events: unknown, gap: unknown): string | undefined {
  if (!Array.isArray(events)) return `${what} "events" is not an array`;
  for (const event of events as unknown[]) {
    if (!isObject(event) || !isCount(event.seq, 1) || !('data' in event)) return `${what} event lacks an integer "seq" >= 1 or "data"`;
    const extra = extraMember('event', event);
    if (extra !== undefined) return extra;
  }
  if (gap === undefined) return undefined;
  if (!isObject(gap) || !isCount(gap.from, 1) || !isCount(gap.to, 1)) return `${what} "gap" is not {from, to}`;
  const extra = extraMember('gap', gap);
  if (extra !== undefined) return extra;
  if (gap.from > gap.to) return `${what} "gap" has from ${gap.from} > to ${gap.to}`;
  const first = (events as Json[])[0];
  if (first && first.seq !== gap.to + 1) return `${what} with gap to ${gap.to} begins at seq ${String(first.seq)}, not ${gap.to + 1}`;
  return undefined;
}

/**
 * The stream parts of a multiplexed answer (`ext.multiplex.streams`, §23.4): each names its
 * stream and follows §9 as a batch does, so an invalid one makes the whole answer invalid
 * (SSP-CLIENT-19) before any stream takes its part.
 */
export function multiplexPartsProblem(message: ServerMessage): string | undefined {
  const parts = (message.ext as { multiplex?: { streams?: unknown } } | undefined)?.multiplex?.streams;
  if (parts === undefined) return undefined;
  if (!Array.isArray(parts)) return 'ext.multiplex.streams is not an array';
  for (const part of parts as unknown[]) {
    if (!isObject(part) || !isName(part.id)) return 'a part of ext.multiplex.streams has no stream "id"';
    const extra = extraMember('part', part);
    if (extra !== undefined) return extra;
    const problem = eventsProblem(`stream ${part.id}'s part`, part.events, part.gap);
    if (problem !== undefined) return problem;
    if (part.termination !== undefined && (!isObject(part.termination) || terminationProblem(part.termination) !== undefined)) return `stream ${part.id}'s termination is invalid`;
  }
  return undefined;
}

function terminationProblem(m: Json): string | undefined {
  if (!isName(m.reason)) return 'termination "reason" is not a name';
  if (!isCount(m.last, 0)) return 'termination "last" is not an integer >= 0';
  const advice = m.advice;
  if (!isObject(advice) || !isName(advice.action)) return 'termination "advice" is invalid';
  if (advice.delayMs !== undefined && !isCount(advice.delayMs, 0)) return 'termination "advice.delayMs" is not an integer >= 0';
  if (m.error === undefined) return extraMember('advice', advice);
  if (m.reason !== 'error') return `termination with reason ${JSON.stringify(m.reason)} carries "error" (only reason error does)`;
  if (!(isObject(m.error) && typeof m.error.message === 'string')) return 'termination "error" lacks a message';
  return extraMember('advice', advice) ?? extraMember('termination error', m.error);
}

function errorProblem(m: Json): string | undefined {
  if (!isName(m.code) || typeof m.message !== 'string' || typeof m.retryable !== 'boolean') {
    return 'error message lacks "code", "message" or "retryable"';
  }
  if (m.retryAfterMs !== undefined && !isCount(m.retryAfterMs, 0)) return 'error "retryAfterMs" is not an integer >= 0';
  return undefined;
}
