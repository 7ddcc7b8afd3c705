// The platform-neutral half of closing with the page (SSP-CLIENT-14), in Node: close({ keepalive })
// must start its request before it returns (a page that is going away runs nothing later),
// and closeOnPageHide() closes on `pagehide` and stops listening once the subscription ended.
import { fetch } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeOnPageHide } from '../../reference-client/page-hide.ts';
import { createSubscribe } from '../../reference-client/node.ts';
import type { FetchLike } from '../../reference-client/node.ts';
import { startFaultServer } from './fault-server.ts';
import type { FaultServer } from './fault-server.ts';
import { fast, until } from './helpers.ts';

type Sent = { message: { type: string; sig?: string }; keepalive: boolean | undefined };

let server: FaultServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** subscribe() whose fetch records every message it sends, and whether it asked for keepalive. */
function recordingSubscribe() {
  const sent: Sent[] = [];
  const recording: FetchLike = (url, init) => {
    if (init.body !== undefined) sent.push({ message: JSON.parse(init.body), keepalive: init.keepalive });
    return fetch(url, init);
  };
  return { sent, subscribe: createSubscribe(recording) };
}

/** A subscription on an endless stream that has taken 2 events and holds its next poll. */
async function holding() {
  server = await startFaultServer({ events: Infinity, available: 2, batchSize: 2, holdMs: 10_000 });
  const { sent, subscribe } = recordingSubscribe();
  const subscription = subscribe(server.url, 'counter', {}, fast);
  const s = server;
  expect(await until(() => s.requests.some((r) => r.type === 'poll' && r.position === 2))).toBe(true);
  return { server: s, sent, subscription };
}

describe('close({ keepalive: true })', () => {
  it('sends close with the newest signature and keepalive before it returns, and aborts the held poll', async () => {
    const { server: s, sent, subscription } = await holding();
    const closing = subscription.close({ keepalive: true });
    // Nothing has been awaited yet: the request is already on its way.
    expect(sent.at(-1)).toEqual({ message: { ssp: 1, type: 'close', sig: subscription.signature }, keepalive: true });
    await closing;
    expect((await subscription.termination).reason).toBe('closed');
    expect(s.closes).toEqual(['faultsig.session-1.pos-2']);
    expect(await until(() => s.abandonedPolls === 1)).toBe(true);
    // Only the close asked for keepalive; polls go out as before.
    expect(sent.filter((r) => r.keepalive !== undefined).map((r) => r.message.type)).toEqual(['close']);
  });

  it('sends nothing when no session exists yet', async () => {
    server = await startFaultServer({ events: 3, faults: [{ delayMs: 200 }] });
    const { sent, subscribe } = recordingSubscribe();
    const subscription = subscribe(server.url, 'counter', {}, { ...fast, discovery: false });
    await subscription.close({ keepalive: true });
    expect(sent.map((r) => r.message.type)).toEqual(['open']);
    expect(server.closes).toEqual([]);
  });
});

describe('closeOnPageHide()', () => {
  it('closes on pagehide, then stops listening', async () => {
    const { server: s, sent, subscription } = await holding();
    const page = new EventTarget();
    const removed = vi.spyOn(page, 'removeEventListener');
    closeOnPageHide(subscription, page);
    page.dispatchEvent(new Event('pagehide'));
    expect(sent.at(-1)).toMatchObject({ message: { type: 'close' }, keepalive: true });
    expect((await subscription.termination).reason).toBe('closed');
    expect(s.closes).toHaveLength(1);
    expect(removed).toHaveBeenCalledWith('pagehide', expect.any(Function));
  });

  it('does nothing once stopped', async () => {
    const { server: s, sent, subscription } = await holding();
    const page = new EventTarget();
    const stop = closeOnPageHide(subscription, page);
    stop();
    page.dispatchEvent(new Event('pagehide'));
    // A close on pagehide would have been sent synchronously (see above).
    expect(sent.map((r) => r.message.type)).not.toContain('close');
    await subscription.close();
    expect(s.closes).toHaveLength(1);
  });
});
