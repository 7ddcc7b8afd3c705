// spec §4.5 authorization: the library's authorize(request, stream, params) hook, each
// outcome at open, poll and close, and the bearer token of `serve --auth-token`.
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOptions } from '../../reference-server/cli.ts';
import { bearerToken } from '../../reference-server/index.ts';
import type { AuthorizeOutcome, SspServer } from '../../reference-server/index.ts';
import { post, send, sleep, start } from './helpers.ts';

/** Access by the `x-user` header: 'eve' is unknown, 'bob' may not read ssp.fail, revoked users lose access. */
const revoked = new Set<string>();
const calls: Array<{ stream: string; params: Readonly<Record<string, unknown>> }> = [];
function authorize(request: IncomingMessage, stream: string, params: Readonly<Record<string, unknown>>): AuthorizeOutcome {
  calls.push({ stream, params });
  const user = request.headers['x-user'];
  // A hook whose own backend fails (or that returns what it may not) is a fault, not a denial.
  if (user === 'broken-backend') throw new Error('identity service unreachable');
  if (user === 'confused') return 'maybe' as unknown as AuthorizeOutcome;
  if (user !== 'alice' && user !== 'bob') return { deny: 'unauthorized', challenge: 'Bearer realm="test"', message: 'who are you?' };
  if (revoked.has(user)) return 'forbidden';
  if (user === 'bob' && stream === 'ssp.fail') return 'forbidden';
  return 'allow';
}

let server: SspServer;
let url: string;
const as = (user: string | undefined) => ({ 'content-type': 'application/json', ...(user ? { 'x-user': user } : {}) });
const openAs = (user: string | undefined, stream = 'ssp.ticker', params: Record<string, unknown> = { intervalMs: 60000 }) =>
  post(url, { ssp: 1, type: 'open', stream, params }, as(user));
const pollAs = (user: string | undefined, sig: string, hold = 0) => post(url, { ssp: 1, type: 'poll', sig, hold }, as(user));

beforeAll(async () => {
  server = await start({ conformance: true, authorize: async (...args) => authorize(...args) });
  url = server.url;
});
afterAll(() => server.close());

describe('at open', () => {
  it('allow: a session, and the hook saw the stream with its checked params (defaults applied)', async () => {
    calls.length = 0;
    const r = await openAs('alice', 'ssp.counter', { count: 2 });
    expect(r.json.type).toBe('session');
    expect(calls).toEqual([{ stream: 'ssp.counter', params: { count: 2, intervalMs: 0, size: 0 } }]);
  });

  it('unauthorized: 401 with WWW-Authenticate, not retryable (SSP-AUTH-3)', async () => {
    const r = await openAs(undefined);
    expect(r.status).toBe(401);
    expect(r.json).toMatchObject({ code: 'unauthorized', retryable: false, message: 'who are you?' });
    expect(r.headers['www-authenticate']).toBe('Bearer realm="test"');
    expect(r.headers['cache-control']).toBe('no-store');
  });

  it('forbidden: 403 for a stream the principal may not read (SSP-AUTH-4)', async () => {
    const r = await openAs('bob', 'ssp.fail', {});
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({ code: 'forbidden', retryable: false });
    expect(r.headers['www-authenticate']).toBeUndefined();
  });

  it('checks params and streams first: invalid-params and unknown-stream come before authorization', async () => {
    expect((await openAs(undefined, 'ssp.counter', { count: 0 })).json.code).toBe('invalid-params');
    expect((await openAs(undefined, 'nope', {})).json.code).toBe('unknown-stream');
  });

  it('discovery, HEAD and preflights need no credentials (SSP-AUTH-2)', async () => {
    expect((await send(url, 'GET')).status).toBe(200);
    expect((await send(url, 'HEAD')).status).toBe(200);
    const preflight = await send(url, 'OPTIONS', { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' });
    expect(preflight.status).toBe(204);
    // SSP-CORS-12: the requested Authorization header is allowed.
    expect(String(preflight.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization');
  });
});

describe('at poll and close', () => {
  it('unauthorized on a poll is an error that leaves the session unchanged (SSP-AUTH-5)', async () => {
    const opened = await openAs('alice', 'ssp.counter', { count: 2 });
    const denied = await pollAs(undefined, opened.json.sig);
    expect([denied.status, denied.json.code]).toEqual([401, 'unauthorized']);
    expect(denied.headers['www-authenticate']).toBe('Bearer realm="test"');
    const polled = await pollAs('alice', opened.json.sig, 1000);
    expect(polled.json.events.map((e: { seq: number }) => e.seq)).toEqual([1, 2]);
  });

  it('forbidden on a poll revokes: the held poll and every later request get the revoked termination (SSP-AUTH-6)', async () => {
    const opened = await openAs('alice');
    const held = pollAs('alice', opened.json.sig, 5000);
    await sleep(100);
    revoked.add('alice');
    try {
      const answer = await pollAs('alice', opened.json.sig, 0);
      expect(answer.json).toMatchObject({ type: 'termination', reason: 'revoked', last: 0, advice: { action: 'none' } });
      expect((await held).text).toBe(answer.text);
      // Remembered like any termination, whoever asks.
      expect((await pollAs(undefined, opened.json.sig)).text).toBe(answer.text);
      expect((await post(url, { ssp: 1, type: 'close', sig: opened.json.sig }, as('bob'))).text).toBe(answer.text);
    } finally {
      revoked.delete('alice');
    }
  });

  it('forbidden on a close ends the session with revoked, not closed', async () => {
    const opened = await openAs('alice');
    revoked.add('alice');
    try {
      const closed = await post(url, { ssp: 1, type: 'close', sig: opened.json.sig }, as('alice'));
      expect(closed.json).toMatchObject({ type: 'termination', reason: 'revoked' });
    } finally {
      revoked.delete('alice');
    }
  });

  it('a hook that throws or returns no outcome is internal-error (500, retryable), and the session is unchanged', async () => {
    const opened = await openAs('alice', 'ssp.counter', { count: 1 });
    for (const user of ['broken-backend', 'confused']) {
      for (const answer of [await openAs(user), await pollAs(user, opened.json.sig)]) {
        expect(answer.status).toBe(500);
        expect(answer.json).toMatchObject({ code: 'internal-error', retryable: true });
      }
    }
    expect((await pollAs('alice', opened.json.sig, 1000)).json.events.map((e: { seq: number }) => e.seq)).toEqual([1]);
  });

  it('a signature that does not verify is invalid-signature before any credential check', async () => {
    expect((await pollAs(undefined, 'x'.repeat(20))).json.code).toBe('invalid-signature');
  });
});

describe('bearerToken and serve --auth-token', () => {
  const check = bearerToken('s3cret');
  const request = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;

  it('allows exactly the token, as a Bearer credential', async () => {
    expect(await check(request('Bearer s3cret'), 'ticker', {})).toBe('allow');
    expect(await check(request('bearer s3cret'), 'ticker', {})).toBe('allow');
    expect(await check(request(), 'ticker', {})).toMatchObject({ deny: 'unauthorized', challenge: 'Bearer realm="xanjax"' });
    expect(await check(request('Bearer s3cre'), 'ticker', {})).toMatchObject({ deny: 'unauthorized', challenge: 'Bearer realm="xanjax", error="invalid_token"' });
    expect(await check(request('Basic czNjcmV0'), 'ticker', {})).toMatchObject({ deny: 'unauthorized' });
  });

  it('takes the token from --auth-token or XANJAX_AUTH_TOKEN', () => {
    expect(parseOptions([], {}).authorize).toBeUndefined();
    expect(parseOptions(['--auth-token', 'abc'], {}).authorize).toBeTypeOf('function');
    expect(parseOptions([], { XANJAX_AUTH_TOKEN: 'abc' }).authorize).toBeTypeOf('function');
    expect(() => parseOptions(['--auth-token', 'has space'], {})).toThrow(/--auth-token/);
  });

  it('a server with a bearer token refuses and then serves', async () => {
    const guarded = await start({ conformance: true, authorize: bearerToken('s3cret') });
    try {
      const open = { ssp: 1, type: 'open', stream: 'ssp.counter', params: { count: 1 } };
      const refused = await post(guarded.url, open);
      expect([refused.status, refused.json.code, refused.headers['www-authenticate']]).toEqual([401, 'unauthorized', 'Bearer realm="xanjax"']);
      const opened = await post(guarded.url, open, { 'content-type': 'application/json', authorization: 'Bearer s3cret' });
      expect(opened.json.type).toBe('session');
    } finally {
      await guarded.close();
    }
  });
});
