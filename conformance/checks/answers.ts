// Narrowing helpers shared by the checks: each turns "the server answered something" into
// the one message kind the requirement calls for, or fails the check with what came instead.
import type { Answer, CheckContext, RawAnswer } from '../check.ts';
import type { BatchMessage, ErrorCode, ErrorMessage, ServerMessage, TerminationMessage } from '../../schemas/types.gen.ts';

function describe(answer: Answer<unknown>): string {
  const body = answer.body as { type?: unknown; code?: unknown; reason?: unknown; events?: unknown };
  if (body?.type === 'error') return `${answer.status} error '${String(body.code)}'`;
  if (body?.type === 'termination') return `${answer.status} termination '${String(body.reason)}'`;
  if (body?.type === 'batch' && Array.isArray(body.events)) return `${answer.status} batch of ${body.events.length} event(s)`;
  return `${answer.status} ${JSON.stringify(body).slice(0, 120)}`;
}

/** A 200 batch, or fail with `what` and what came instead. */
export function expectBatch(ctx: CheckContext, answer: Answer<ServerMessage>, what: string): BatchMessage {
  if (answer.status !== 200 || answer.body.type !== 'batch') ctx.fail(`${what}: expected 200 batch, got ${describe(answer)}`);
  return answer.body;
}

/** A 200 termination (with the given reason when named). */
export function expectTermination(
  ctx: CheckContext,
  answer: Answer<ServerMessage>,
  what: string,
  reason?: TerminationMessage['reason'],
): TerminationMessage {
  if (answer.status !== 200 || answer.body.type !== 'termination') {
    ctx.fail(`${what}: expected 200 termination${reason ? ` '${reason}'` : ''}, got ${describe(answer)}`);
  }
  if (reason !== undefined && answer.body.reason !== reason) {
    ctx.fail(`${what}: expected termination reason '${reason}', got '${answer.body.reason}'`);
  }
  return answer.body;
}

/** An error message with the given code (any HTTP status: the ERROR checks own the status table). */
export function expectErrorCode(ctx: CheckContext, answer: Answer<unknown>, code: ErrorCode, what: string): ErrorMessage {
  const body = answer.body as Partial<ErrorMessage> | null;
  if (body?.type !== 'error' || body.code !== code) ctx.fail(`${what}: expected error '${code}', got ${describe(answer)}`);
  return body as ErrorMessage;
}

/** Parse a raw answer's body as JSON, failing the check when it is not JSON. */
export function jsonOf(ctx: CheckContext, answer: RawAnswer, what: string): unknown {
  try {
    return JSON.parse(answer.text) as unknown;
  } catch {
    return ctx.fail(`${what}: expected a JSON body, got ${answer.status} ${JSON.stringify(answer.text.slice(0, 120))}`);
  }
}

/** A raw answer seen as an Answer, for the helpers above. */
export function asAnswer(ctx: CheckContext, answer: RawAnswer, what: string): Answer<ServerMessage> {
  return { status: answer.status, headers: answer.headers, body: jsonOf(ctx, answer, what) as ServerMessage, exchange: answer.exchange };
}
