// SSP-CORS-1 and SSP-AUTH-8: a server whose `authorize` hook reads cookies restricts the origins
// whose pages may use it. Pages of other origins get no CORS headers (they read nothing), and
// their POSTs, which a browser sends cross-site without a preflight and with cookies, are
// refused with 403 forbidden before the message is read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SspServer } from '../../reference-server/index.ts';
import { post, send, start } from './helpers.ts';

const app = 'https://app.example.com';
const other = 'https://evil.example.net';
const open = { ssp: 1, type: 'open', stream: 'ssp.counter', params: { count: 1 } };
const textPlain = (origin?: string) => ({ 'content-type': 'text/plain;charset=UTF-8', ...(origin === undefined ? {} : { origin }) });

let server: SspServer;
/** Cookies are what the hook checks: the CSRF case (SSP-AUTH-8). */
beforeAll(async () => {
  server = await start({
    conformance: true,
    allowedOrigins: [app],
    authorize: (request) => (request.headers.cookie === 'session=alice' ? 'allow' : 'unauthorized'),
  });
});
afterAll(() => server.close());

describe('allowedOrigins', () => {
  it('an allowed origin gets the CORS headers and its session', async () => {
    const answer = await post(server.url, open, { ...textPlain(app), cookie: 'session=alice' });
    expect(answer.status).toBe(200);
    expect(answer.json.type).toBe('session');
    expect(answer.headers['access-control-allow-origin']).toBe(app);
    expect(answer.headers['access-control-allow-credentials']).toBe('true');
  });

  it('a cross-site open carrying the user\'s cookie is refused with 403 forbidden, unread, and opens nothing', async () => {
    const before = server.handler.stats().sessions;
    const answer = await post(server.url, open, { ...textPlain(other), cookie: 'session=alice' });
    expect(answer.status).toBe(403);
    expect(answer.json).toMatchObject({ type: 'error', code: 'forbidden', retryable: false });
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    expect(server.handler.stats().sessions).toBe(before);
    // Refused before the body is read (§6.4 step 2): not even a malformed body gets further.
    expect((await post(server.url, '{not json', textPlain(other))).json.code).toBe('forbidden');
  });

  it('discovery and preflights from other origins are answered without CORS headers', async () => {
    const discovery = await send(server.url, 'GET', { origin: other });
    expect(discovery.status).toBe(200);
    expect(discovery.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await send(server.url, 'OPTIONS', { origin: other, 'access-control-request-method': 'POST' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const allowed = await send(server.url, 'OPTIONS', { origin: app, 'access-control-request-method': 'POST' });
    expect(allowed.headers['access-control-allow-origin']).toBe(app);
  });

  it('requests without Origin (not from a page of another origin) are served', async () => {
    const answer = await post(server.url, open, { ...textPlain(), cookie: 'session=alice' });
    expect(answer.json.type).toBe('session');
  });

  it('takes a predicate as well', async () => {
    const own = await start({ conformance: true, allowedOrigins: (origin) => origin.endsWith('.example.com') });
    try {
      expect((await post(own.url, open, textPlain('https://b.example.com'))).json.type).toBe('session');
      expect((await post(own.url, open, textPlain(other))).json.code).toBe('forbidden');
    } finally {
      await own.close();
    }
  });
});
