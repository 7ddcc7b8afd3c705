// Spec §4.5 Authorization, observable when the user gives the runner the credentials the
// server requires (-H): these checks send requests without them, or with their values
// forged, and judge the refusals. A server that answers such a request as it answers the
// credentialed one does not require credentials for it: nothing to judge there. Without
// -H each check is a note saying so (features.ts), never a pass.
import { check, CheckNote } from '../check.ts';
import type { Check, CheckContext, RawAnswer } from '../check.ts';
import { expectBatch } from './answers.ts';
import { lastSeq, readAtOnce } from './drain.ts';
import { openQuiet } from './sessions.ts';

const withCredentials = { needs: ['credentials'] as Array<'credentials' | 'annex'> };
const json = { 'content-type': 'application/json' };
/** RFC 9110 §11.6.1: a challenge starts with its auth-scheme, a token. */
const challenge = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s|,|$)/;

/** The -H headers with every value altered: credentials no server has issued. */
function forged(ctx: CheckContext): Record<string, string> {
  return Object.fromEntries(Object.entries(ctx.headers).map(([name, value]) => [name, `${value}-forged-by-conformance`]));
}

function bodyOf(answer: RawAnswer): { type?: unknown; code?: unknown } {
  try {
    return JSON.parse(answer.text) as { type?: unknown; code?: unknown };
  } catch {
    return {};
  }
}

/** A refusal for missing or unaccepted credentials must be 401 unauthorized (SSP-AUTH-3, -5). */
function assertUnauthorized(ctx: CheckContext, answer: RawAnswer, what: string, challengeToo: boolean): void {
  const body = bodyOf(answer);
  ctx.assert(answer.status === 401 && body.type === 'error' && body.code === 'unauthorized', `${what}: answered ${answer.status} ${answer.text.slice(0, 160)}, expected 401 with an error message carrying unauthorized`);
  if (challengeToo) ctx.assert(challenge.test(answer.headers['www-authenticate'] ?? ''), `${what}: 401 with WWW-Authenticate ${JSON.stringify(answer.headers['www-authenticate'] ?? null)}, expected a header naming an authentication scheme`);
}

/** One request sent with the user's credentials, without them, and with them forged. */
interface Probe {
  what: string;
  send(ctx: CheckContext, credentials: 'given' | 'none' | 'forged'): Promise<RawAnswer>;
}

const send = (ctx: CheckContext, credentials: 'given' | 'none' | 'forged', init: { method: string; headers?: Record<string, string>; body?: string }) =>
  ctx.raw({ ...init, ...(credentials === 'given' ? {} : { withoutUserHeaders: true, headers: { ...(credentials === 'forged' ? forged(ctx) : {}), ...init.headers } }) });

const probes: Probe[] = [
  { what: 'GET (discovery)', send: (ctx, credentials) => send(ctx, credentials, { method: 'GET' }) },
  {
    what: 'open',
    send: (ctx, credentials) => {
      const stream = ctx.discovery.conformance === true ? { stream: 'ssp.counter', params: { count: 1 } } : { stream: ctx.discovery.streams[0]?.name ?? 'ssp.counter' };
      return send(ctx, credentials, { method: 'POST', headers: json, body: JSON.stringify({ ssp: 1, type: 'open', ...stream }) });
    },
  },
];

/** Close a session a probe opened, so that probes leave nothing behind. */
async function closeOpened(ctx: CheckContext, answer: RawAnswer): Promise<void> {
  const body = bodyOf(answer) as { type?: unknown; sig?: unknown };
  if (answer.status === 200 && body.type === 'session' && typeof body.sig === 'string') await ctx.close(body.sig);
}

export const authChecks: Check[] = [
  check('SSP-AUTH-2', 'MUST NOT require credentials for an OPTIONS request', async (ctx: CheckContext) => {
    const preflight = { origin: ctx.origin, 'access-control-request-method': 'POST', 'access-control-request-headers': ['content-type', ...Object.keys(ctx.headers)].join(', ') };
    for (const [what, headers] of [['preflight (OPTIONS with Origin)', preflight], ['OPTIONS without Origin', {}]] as const) {
      const given = await ctx.raw({ method: 'OPTIONS', headers });
      const none = await ctx.raw({ method: 'OPTIONS', headers, withoutUserHeaders: true });
      ctx.assert(none.status !== 401 && none.status !== 403 && none.status === given.status, `${what} without the -H headers: answered ${none.status} ${none.text.slice(0, 160)}, with them ${given.status}: a browser sends no credentials with a preflight`);
    }
  }, withCredentials),
  check('SSP-AUTH-3', 'MUST answer a request lacking the required credentials, or with credentials it does not accept, with 401 unauthorized and WWW-Authenticate', async (ctx: CheckContext) => {
    let refused = 0;
    for (const probe of probes) {
      const given = await probe.send(ctx, 'given');
      await closeOpened(ctx, given);
      if (given.status !== 200) continue;
      for (const credentials of ['none', 'forged'] as const) {
        const answer = await probe.send(ctx, credentials);
        if (answer.status === 200) {
          await closeOpened(ctx, answer);
          continue;
        }
        refused++;
        assertUnauthorized(ctx, answer, `${probe.what} ${credentials === 'none' ? 'without the -H headers' : 'with the -H header values forged'}`, true);
      }
    }
    if (refused === 0) throw new CheckNote(`the server answered ${probes.map((probe) => probe.what).join(' and ')} without the -H headers (and with their values forged) as with them: it requires none of them as credentials there, so nothing to judge`);
  }, withCredentials),
  check('SSP-AUTH-5', 'MUST answer a poll or close lacking accepted credentials with unauthorized, leaving the session unchanged', async (ctx: CheckContext) => {
    const session = await ctx.open('ssp.counter', { count: 2, intervalMs: 0 });
    const poll = (sig: string, credentials: 'none' | 'forged') => send(ctx, credentials, { method: 'POST', headers: json, body: JSON.stringify({ ssp: 1, type: 'poll', sig, hold: 0 }) });
    let refused = 0;
    for (const credentials of ['none', 'forged'] as const) {
      const answer = await poll(session.body.sig, credentials);
      if (answer.status === 200) continue;
      refused++;
      assertUnauthorized(ctx, answer, `poll ${credentials === 'none' ? 'without the -H headers' : 'with the -H header values forged'}`, false);
    }
    // Unchanged: the session's events are all still there, from position 0.
    const read = await readAtOnce(ctx, session.body.sig, 2, 'after the refused polls, with the -H headers');
    ctx.assert(read.events[0]?.seq === 1 && lastSeq(read.events) === 2, `after the refused polls the session delivered ${JSON.stringify(read.events.map((event) => event.seq))}, expected events 1 and 2`);
    // A live session (a quiet ticker): a close without credentials must not end it.
    const quiet = await openQuiet(ctx);
    const close = await send(ctx, 'none', { method: 'POST', headers: json, body: JSON.stringify({ ssp: 1, type: 'close', sig: quiet.body.sig }) });
    if (close.status !== 200) {
      refused++;
      assertUnauthorized(ctx, close, 'close without the -H headers', false);
      expectBatch(ctx, await ctx.poll(quiet.body.sig, 0), 'poll with the -H headers after the refused close (the session must still be live)');
      await ctx.close(quiet.body.sig);
    }
    if (refused === 0) throw new CheckNote('the server answered poll and close without the -H headers (and with their values forged) as with them: it does not check credentials on poll and close, so the rule does not apply');
  }, { needs: ['credentials', 'annex'] }),
];
