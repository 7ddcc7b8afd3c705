// Header predicates shared by the TRANSPORT and CORS checks (header names are lower-case
// in recorded answers; values are compared the way HTTP defines them).
import type { CheckContext, RawAnswer } from '../check.ts';

/** Comma-separated header tokens, lower-cased and trimmed. */
export function tokensOf(value: string | undefined): string[] {
  return (value ?? '').split(',').map((token) => token.trim().toLowerCase()).filter((token) => token !== '');
}

/** SSP-TRANSPORT-5: every response carries `Cache-Control: no-store`. */
export function assertNoStore(ctx: CheckContext, answer: RawAnswer, what: string): void {
  const directives = tokensOf(answer.headers['cache-control']);
  ctx.assert(
    directives.includes('no-store'),
    `${what}: Cache-Control must be no-store, got ${JSON.stringify(answer.headers['cache-control'] ?? null)}`,
  );
}

/** SSP-TRANSPORT-6: every response with a body has `Content-Type: application/json; charset=utf-8`. */
export function assertJsonContentType(ctx: CheckContext, answer: RawAnswer, what: string): void {
  const value = answer.headers['content-type'] ?? '';
  const [type, ...parameters] = value.split(';').map((part) => part.trim().toLowerCase());
  const charset = parameters.find((parameter) => parameter.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  ctx.assert(
    type === 'application/json' && charset === 'utf-8',
    `${what}: Content-Type must be application/json; charset=utf-8, got ${JSON.stringify(answer.headers['content-type'] ?? null)}`,
  );
}
