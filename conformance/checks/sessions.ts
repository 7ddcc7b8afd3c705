// Sessions the checks open through the conformance annex (spec §20), named for what
// they make the server do.
import type { Answer, CheckContext, RawAnswer } from '../check.ts';
import type { SessionMessage } from '../../schemas/types.gen.ts';

/** A ticker with no event for 60 s: polls on it end only by their hold, a close or expiry. */
export function openQuiet(ctx: CheckContext): Promise<Answer<SessionMessage>> {
  return ctx.open('ssp.ticker', { intervalMs: 60_000 });
}

/** Elapsed ms of an answer, as the context measured it. */
export function elapsed(answer: Answer<unknown> | RawAnswer): number {
  return answer.exchange.response?.ms ?? 0;
}

/** The newest exchange of the check as a RawAnswer (after ctx.open/poll/close). */
export function lastRaw(ctx: CheckContext): RawAnswer {
  const exchange = ctx.evidence[ctx.evidence.length - 1];
  const response = exchange?.response;
  if (!exchange || !response) throw new Error('no recorded response');
  return { status: response.status, headers: response.headers, text: response.body, exchange, ms: response.ms };
}

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A random string of `length` signature characters: well-formed, never issued. */
export function randomSignature(length: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(length)), (byte) => alphabet[byte % alphabet.length]).join('');
}

/** Wait until an idle session must have expired: idleTimeoutMs (scaled) plus the tolerance. */
export async function waitPastIdle(ctx: CheckContext): Promise<void> {
  await ctx.sleep(ctx.discovery.limits.idleTimeoutMs);
  await ctx.sleep(ctx.tolerance / ctx.timeoutScale);
}
