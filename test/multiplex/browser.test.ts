// Issue 14's page in real headless Chromium: six quiet and two lively subscriptions to
// `serve --demo`'s ticker, written as plain subscribe() calls. Over HTTP/1.1 the browser
// allows six connections per host, so six held polls would starve the rest; the reference
// client shares one multiplexed session instead (one outstanding request). Over HTTP/2 the
// held polls share one connection, so even one session per subscription delivers.
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../reference-server/index.ts';
import type { ListenOptions, SspServer } from '../../reference-server/index.ts';
import { makeSelfSignedCert } from '../http2/self-signed.ts';
import type { SelfSigned } from '../http2/self-signed.ts';

const QUIET = 6;
const LIVELY = 2;
/** Events each lively subscription must receive (bounded wait, never a timing assertion). */
const K = 5;

// A blank page on the server's origin: it loads the client module as users do and counts the
// page's requests in flight (every request the client sends goes through window.fetch).
const page = `<!doctype html><meta charset="utf-8"><title>many subscriptions</title>
<script type="module">
  const original = window.fetch;
  window.inFlight = 0;
  window.mostInFlight = 0;
  window.fetch = async (...args) => {
    window.inFlight += 1;
    try { return await original(...args); } finally { window.inFlight -= 1; }
  };
  const { subscribe } = await import('/xanjax-client.js');
  window.counts = [];
  window.errors = [];
  const start = (intervalMs) => {
    const i = window.counts.push(0) - 1;
    const sub = subscribe('/ssp', 'ticker', { intervalMs });
    sub.on('event', () => (window.counts[i] += 1));
    sub.on('error', (error) => window.errors.push(String(error)));
  };
  for (let i = 0; i < ${QUIET}; i++) start(60000);
  for (let i = 0; i < ${LIVELY}; i++) start(300);
  window.started = true;
</script>`;

type PageState = { counts: number[]; errors: string[]; inFlight: number };

let browser: Browser;
let tls: SelfSigned;

beforeAll(async () => {
  tls = makeSelfSignedCert();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

afterAll(async () => {
  await browser?.close();
  tls?.remove();
});

/** Opens the page against a fresh server; resolves once every lively subscription has K events. */
async function run(options: ListenOptions): Promise<{ state: PageState; mostInFlight: number; server: SspServer; sessions: number }> {
  const server = await createServer({ port: 0, demo: true, ...options });
  let context: BrowserContext | undefined;
  try {
    context = await browser.newContext({ ignoreHTTPSErrors: true });
    const tab = await context.newPage();
    const origin = new URL(server.url).origin;
    await tab.route(`${origin}/many.html`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: page }));
    await tab.goto(`${origin}/many.html`);
    await tab.waitForFunction(() => (window as unknown as { started?: boolean }).started === true);
    let mostInFlight = 0;
    let sessions = 0;
    const state = () => tab.evaluate(() => {
      const w = window as unknown as PageState;
      return { counts: [...w.counts], errors: [...w.errors], inFlight: w.inFlight };
    });
    // Sample until each lively subscription has K events (bounded: 60 s of ticks at 300 ms).
    let last = await state();
    for (let i = 0; i < 600 && last.counts.slice(QUIET).some((n) => n < K); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      last = await state();
      // Once every subscription has joined, what the page holds open is its steady state.
      if (last.counts.slice(QUIET).every((n) => n > 0)) {
        mostInFlight = Math.max(mostInFlight, last.inFlight);
        sessions = Math.max(sessions, server.handler.stats().sessions);
      }
    }
    await context.close();
    context = undefined;
    return { state: last, mostInFlight, server, sessions };
  } finally {
    await context?.close();
    await server.close();
  }
}

describe('a page with six quiet and two lively subscriptions', () => {
  it('over HTTP/1.1 with the multiplex extension: every lively subscription gets its events through one outstanding request', async () => {
    const { state, mostInFlight, sessions } = await run({});
    expect(state.errors).toEqual([]);
    for (const n of state.counts.slice(QUIET)) expect(n).toBeGreaterThanOrEqual(K);
    for (const n of state.counts.slice(0, QUIET)) expect(n).toBe(0);
    expect(mostInFlight).toBe(1);
    expect(sessions).toBe(1);
  });

  it('over HTTP/2 without the extension: one session each, and every lively subscription still gets its events', async () => {
    const { state, sessions } = await run({ multiplex: false, tls: { cert: tls.cert, key: tls.key } });
    expect(state.errors).toEqual([]);
    for (const n of state.counts.slice(QUIET)) expect(n).toBeGreaterThanOrEqual(K);
    expect(sessions).toBe(QUIET + LIVELY);
  });
});
