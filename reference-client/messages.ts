// Structural checks of server messages (SSP/1 §6). Hand-written rather than ajv so the
// browser bundle stays a few kilobytes; they check every field the client relies on and
// ignore unknown extra fields (a later minor revision may add some).
import type { ServerMessage } from '../schemas/types.gen.ts';

export type Parsed = { ok: true; message: ServerMessage } | { ok: false; problem: string };

const signaturePattern = /^[A-Za-z0-9_.~-]{16,2048}$/;
const reasons = new Set(['complete', 'closed', 'expired', 'error', 'revoked', 'shutdown']);
const actions = new Set(['none', 'resume', 'reopen']);

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown, min: number): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min;

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
  switch (m.type) {
    case 'session':
      if (typeof m.stream !== 'string') return 'session "stream" is not a string';
      return sigProblem(m) ?? (isCount(m.position, 0) ? undefined : 'session "position" is not an integer >= 0');
    case 'batch':
      return sigProblem(m) ?? batchProblem(m);
    case 'termination':
      return sigProblem(m) ?? terminationProblem(m);
    case 'error':
      return errorProblem(m);
    default:
      return `unknown message type ${JSON.stringify(m.type)}`;
  }
}

function sigProblem(m: Json): string | undefined {
  return typeof m.sig === 'string' && signaturePattern.test(m.sig) ? undefined : `${m.type} "sig" is not a valid signature`;
}

// §9: seq values within a batch increase by exactly 1; a gap has from <= to.
function batchProblem(m: Json): string | undefined {
  if (!Array.isArray(m.events)) return 'batch "events" is not an array';
  let previous: number | undefined;
  for (const event of m.events as unknown[]) {
    if (!isObject(event) || !isCount(event.seq, 1) || !('data' in event)) return 'batch event lacks an integer "seq" >= 1 or "data"';
    if (previous !== undefined && event.seq !== previous + 1) return `batch seq ${event.seq} follows ${previous}`;
    previous = event.seq;
  }
  if (m.gap === undefined) return undefined;
  const gap = m.gap;
  if (!isObject(gap) || !isCount(gap.from, 1) || !isCount(gap.to, 1) || gap.from > gap.to) return 'batch "gap" is not {from <= to}';
  return undefined;
}

function terminationProblem(m: Json): string | undefined {
  if (typeof m.reason !== 'string' || !reasons.has(m.reason)) return `termination "reason" ${JSON.stringify(m.reason)} is unknown`;
  if (!isCount(m.last, 0)) return 'termination "last" is not an integer >= 0';
  const advice = m.advice;
  if (!isObject(advice) || typeof advice.action !== 'string' || !actions.has(advice.action)) return 'termination "advice" is invalid';
  if (advice.delayMs !== undefined && !isCount(advice.delayMs, 0)) return 'termination "advice.delayMs" is not an integer >= 0';
  if (m.error !== undefined && !(isObject(m.error) && typeof m.error.message === 'string')) return 'termination "error" lacks a message';
  return undefined;
}

function errorProblem(m: Json): string | undefined {
  if (typeof m.code !== 'string' || typeof m.message !== 'string' || typeof m.retryable !== 'boolean') {
    return 'error message lacks "code", "message" or "retryable"';
  }
  if (m.retryAfterMs !== undefined && !isCount(m.retryAfterMs, 0)) return 'error "retryAfterMs" is not an integer >= 0';
  return undefined;
}
