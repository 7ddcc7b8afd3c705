// SSP-CLIENT-14 in real headless Chromium: a page that is left or closed sends `close` for its
// sessions (pagehide, keepalive request), so the reference server frees them at once rather
// than after its idle timeout (60 s here: nothing else can explain a prompt drop to 0).
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type * as Client from '../../reference-client/browser.ts';
import { createSspHandler } from '../../reference-server/index.ts';
import type { SspHandler } from '../../reference-server/index.ts';

/** What the test page puts on `window`. */
type PageWindow = Window & { events: number; restored?: boolean; feed?: Client.Pushlet; subscription?: Client.Subscription };

// ?mode=pushlet (default), pushlet-kept (closeOnPageHide false), subscribe, subscribe-kept.
// In sessionStorage, which outlives the page, it notes how its client sent `close` and how
// often the page was loaded.
const streamPage = `<!doctype html><meta charset="utf-8"><title>stream</title>
<ul id="feed"></ul>
<script type="module">
  const pageFetch = window.fetch;
  window.fetch = (url, init) => {
    const message = JSON.parse(init.body);
    if (message.type === 'close') sessionStorage.setItem('close', JSON.stringify({ keepalive: init.keepalive ?? false, message }));
    return pageFetch(url, init);
  };
  // restored: how the page was last shown (undefined while hidden).
  addEventListener('pageshow', (event) => (window.restored = event.persisted));
  addEventListener('pagehide', () => delete window.restored);
  sessionStorage.setItem('loads', String(Number(sessionStorage.getItem('loads')) + 1));
  const { pushlet, subscribe } = await import('/xanjax-client.js');
  const mode = new URLSearchParams(location.search).get('mode') ?? 'pushlet';
  const params = { intervalMs: 100 };
  window.events = 0;
  if (mode.startsWith('subscribe')) {
    window.subscription = subscribe('/ssp', 'ticker', params, { closeOnPageHide: mode === 'subscribe' });
    window.subscription.on('event', () => (window.events += 1));
  } else {
    window.feed = pushlet(document.getElementById('feed'), { endpoint: '/ssp', stream: 'ticker', params, closeOnPageHide: mode === 'pushlet' });
  }
</script>`;

const otherPage = '<!doctype html><meta charset="utf-8"><title>elsewhere</title><p>elsewhere</p>';

const launchArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

let browser: Browser;
let ssp: SspHandler;
let http: Server | undefined;
let origin: string;
let page: Page | undefined;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: launchArgs });
});

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  await page?.close();
  page = undefined;
  await ssp?.close();
  if (!http) return;
  const server = http;
  const closed = new Promise((resolve) => server.close(resolve));
  server.closeAllConnections();
  await closed;
  http = undefined;
});

/** The reference handler (demo: it serves /xanjax-client.js) with the two test pages beside it. */
async function startServer(): Promise<void> {
  ssp = createSspHandler({ demo: true, limits: { idleTimeoutMs: 60_000 } });
  const server = createServer((req, res) =>
    ssp(req, res, () => {
      const body = req.url?.startsWith('/stream') ? streamPage : otherPage;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  http = server;
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Opens the stream page in `mode` and waits until its session is live with a held poll. */
async function openLive(target: Browser, mode: string): Promise<Page> {
  await startServer();
  page = await target.newPage();
  await page.goto(`${origin}/stream?mode=${mode}`);
  await page.waitForFunction(() => {
    const w = window as unknown as PageWindow;
    return w.events >= 2 || document.querySelectorAll('#feed [data-seq]').length >= 2;
  });
  expect(await until(() => ssp.stats().heldPolls === 1)).toBe(true);
  expect(ssp.stats().sessions).toBe(1);
  return page;
}

/** Checks `condition` every 20 ms for at most 5 s (far below the 60 s idle timeout). */
async function until(condition: () => boolean): Promise<boolean> {
  for (let i = 0; i < 250 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  return condition();
}

describe('closing on pagehide', () => {
  it.each(['pushlet', 'subscribe'])('%s: navigating away closes the session at once', async (mode) => {
    const p = await openLive(browser, mode);
    await p.goto(`${origin}/elsewhere`);
    expect(await until(() => ssp.stats().sessions === 0)).toBe(true);
    // The session was closed (its termination is remembered), not cut off.
    expect(ssp.stats()).toMatchObject({ heldPolls: 0, tombstones: 1 });
    expect(JSON.parse((await p.evaluate(() => sessionStorage.getItem('close')))!)).toMatchObject({ keepalive: true, message: { ssp: 1, type: 'close' } });
  });

  // Closing the tab itself is not tested: whether a browser still sends a keepalive request
  // from a page being destroyed is its own choice (Chromium drops it now and then), and a
  // session it drops idles out as before. Navigation, tested above, is the reliable path.

  it.each(['pushlet-kept', 'subscribe-kept'])('%s (closeOnPageHide: false): the session outlives the page', async (mode) => {
    const p = await openLive(browser, mode);
    await p.goto(`${origin}/elsewhere`);
    // The held poll was cut with the page, but no close came (a keepalive close is sent during
    // the navigation; a second is ample margin): the session waits for its idle timeout.
    expect(await until(() => ssp.stats().heldPolls === 0)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(ssp.stats()).toMatchObject({ sessions: 1, heldPolls: 0, tombstones: 0 });
  });
});

describe('back/forward cache', () => {
  // Playwright turns the cache off by default; this browser keeps Chromium's default (on).
  let cachingBrowser: Browser;
  beforeAll(async () => {
    cachingBrowser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: launchArgs, ignoreDefaultArgs: ['--disable-back-forward-cache'] });
  });
  afterAll(async () => {
    await cachingBrowser?.close();
  });

  it('pushlet: a page restored from the cache opens a new session and shows it', async () => {
    const p = await openLive(cachingBrowser, 'pushlet');
    await p.goto(`${origin}/elsewhere`);
    expect(await until(() => ssp.stats().sessions === 0)).toBe(true);
    await p.goBack({ waitUntil: 'commit' });
    await p.waitForFunction(() => (window as unknown as PageWindow).restored !== undefined);
    // Restored, not reloaded: the module ran once.
    expect(await p.evaluate(() => [(window as unknown as PageWindow).restored, sessionStorage.getItem('loads')])).toEqual([true, '1']);
    const before = await p.$$eval('#feed [data-seq]', (nodes) => nodes.length);
    await p.waitForFunction((count) => document.querySelectorAll('#feed [data-seq]').length >= count + 2, before, { timeout: 10_000 });
    expect(await p.$eval('#feed', (feed) => feed.dataset.sspState)).toBe('live');
    expect(await p.$eval('#feed .ssp-reopened', (node) => node.textContent)).toBe('new session after the page was restored: events may be missing');
    expect(ssp.stats()).toMatchObject({ sessions: 1, tombstones: 1 });
  });

  it('subscribe: a page restored from the cache finds its subscription ended, not silently dead', async () => {
    const p = await openLive(cachingBrowser, 'subscribe');
    await p.goto(`${origin}/elsewhere`);
    expect(await until(() => ssp.stats().sessions === 0)).toBe(true);
    await p.goBack({ waitUntil: 'commit' });
    await p.waitForFunction(() => (window as unknown as PageWindow).restored !== undefined);
    expect(await p.evaluate(() => [(window as unknown as PageWindow).restored, sessionStorage.getItem('loads')])).toEqual([true, '1']);
    const ended = await p.evaluate(() =>
      Promise.race([
        (window as unknown as PageWindow).subscription!.termination.then(
          (termination) => termination.reason,
          (error: Client.SspError) => error.code,
        ),
        new Promise((resolve) => setTimeout(() => resolve('still pending after 5 s'), 5000)),
      ]),
    );
    expect(ended).toBe('closed');
    expect(ssp.stats().sessions).toBe(0);
  });
});
