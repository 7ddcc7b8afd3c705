// Spec §15 (SSP-ERROR-11): requests the server's HTTP layer rejects before its application
// sees them still get the JSON error, with no-store and Connection: close. No HTTP client
// library sends malformed framing, so each request is written on a socket (raw-socket.ts).
// Not exercised: request-timeout (408), which would hold the check for the server's header
// deadline, unknown to the runner.
import { check } from '../check.ts';
import type { Check, CheckContext } from '../check.ts';
import { errorCodeInfo } from '../../schemas/index.ts';
import { requestHead, socketExchange, type SocketAnswer } from './raw-socket.ts';

interface Malformed {
  what: string;
  bytes: (ctx: CheckContext) => string;
  code: 'bad-request' | 'method-not-allowed' | 'headers-too-large';
  /** The server may accept it (a longer header limit): only a refusal is judged. */
  onlyIfRefused?: boolean;
}

const chunked = { 'content-type': 'application/json', 'transfer-encoding': 'chunked' };
const malformed: Malformed[] = [
  { what: 'bytes that are no request line', bytes: () => '\x00\x01\x02garbage\r\n\r\n', code: 'bad-request' },
  { what: 'a chunk size that is not hexadecimal', bytes: (ctx) => `${requestHead(ctx, 'POST', chunked)}zz\r\n{}\r\n0\r\n\r\n`, code: 'bad-request' },
  { what: 'an unknown method FOO', bytes: (ctx) => requestHead(ctx, 'FOO', {}), code: 'method-not-allowed' },
  // Above the 16 KiB that common HTTP parsers (Node, Go) accept by default.
  { what: 'a 64 KiB header field', bytes: (ctx) => requestHead(ctx, 'GET', { 'x-large': 'a'.repeat(64 * 1024) }), code: 'headers-too-large', onlyIfRefused: true },
];

function judge(ctx: CheckContext, what: string, answer: SocketAnswer, code: Malformed['code']): void {
  const { status } = errorCodeInfo[code];
  let body: { type?: unknown; code?: unknown } = {};
  try {
    body = JSON.parse(answer.body) as typeof body;
  } catch {
    // Judged below: the body is not the JSON error.
  }
  ctx.assert(answer.status === status && body.type === 'error' && body.code === code, `${what}: answered ${answer.status} ${answer.body.slice(0, 120)}, expected ${status} with an error message carrying ${code}`);
  ctx.assert(answer.headers['cache-control'] === 'no-store', `${what}: Cache-Control is ${JSON.stringify(answer.headers['cache-control'] ?? null)}, expected no-store`);
  ctx.assert(/(^|,)\s*close\s*(,|$)/i.test(answer.headers.connection ?? ''), `${what}: Connection is ${JSON.stringify(answer.headers.connection ?? null)}, expected close`);
}

export const framingChecks: Check[] = [
  check('SSP-ERROR-11', 'SHOULD answer requests its HTTP layer rejects (malformed framing, unknown method, oversized headers) with the JSON error, no-store and Connection: close', async (ctx: CheckContext) => {
    const waitMs = 2000 * ctx.timeoutScale + ctx.tolerance;
    for (const { what, bytes, code, onlyIfRefused } of malformed) {
      const sent = bytes(ctx);
      const answer = await socketExchange(ctx, [sent], waitMs, { method: 'raw', url: ctx.endpoint.href, headers: {}, body: `${JSON.stringify(sent.slice(0, 200))}${sent.length > 200 ? ` … (${sent.length} bytes)` : ''}` });
      ctx.assert(answer !== null, `${what}: no answer within ${waitMs} ms`);
      if (onlyIfRefused && answer.status < 400) continue;
      judge(ctx, what, answer, code);
    }
  }),
];
