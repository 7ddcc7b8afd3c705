// SSP-CLIENT-14: "A client SHOULD send `close` for a session as soon as it no longer needs the
// session's events." A page that is left, closed or put in the back/forward cache no longer
// needs them, and `pagehide` is the event that fires in all three cases: `unload` and
// `beforeunload` do not fire reliably (mobile browsers, pages entering the cache), and an
// `unload` listener keeps a page out of the back/forward cache.
import type { Subscription } from './subscription.ts';

/**
 * Closes `subscription` on the next `pagehide` of `target` (the page's window): the held poll is
 * aborted and `close` is sent as a keepalive request that outlives the page. Stops watching by
 * itself once the subscription has ended; the returned function stops it sooner.
 */
export function closeOnPageHide(subscription: Subscription, target: EventTarget = globalThis): () => void {
  const onPageHide = () => void subscription.close({ keepalive: true });
  const stop = () => target.removeEventListener('pagehide', onPageHide);
  target.addEventListener('pagehide', onPageHide);
  subscription.termination.then(stop, stop);
  return stop;
}
