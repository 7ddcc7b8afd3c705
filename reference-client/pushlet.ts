// pushlet(): the original Xanjax jsonPushlet done properly. Each event the filter keeps is
// rendered into a node appended to the element; the element's `data-ssp-state` says where
// the stream is. Server data only ever reaches the page as text (textContent), never as
// markup: no eval, no innerHTML.
import type { SspEvent, StreamParams, TerminationMessage } from '../schemas/types.gen.ts';
import { subscribe } from './browser-subscribe.ts';
import type { SspError, Subscription, SubscribeOptions } from './core.ts';

export interface PushletOptions {
  endpoint: string;
  stream: string;
  params?: StreamParams;
  /** Keep an event? (the original's filterList). Default: keep all. */
  filter?: (event: SspEvent) => boolean;
  /** Build the node for an event (the original's newElement). Default: `<li>`/`<div>` with the data as JSON text. */
  render?: (event: SspEvent) => Node;
  onTermination?: (termination: TerminationMessage) => void;
  onError?: (error: SspError) => void;
  /** Passed to subscribe(); gaps default to 'continue' (shown as an `ssp-gap` marker). */
  subscribeOptions?: SubscribeOptions;
  /**
   * Close the session on the page's `pagehide` (SSP-CLIENT-14), and open a new one when the page
   * comes back from the back/forward cache (`pageshow` with `persisted`). Default true.
   */
  closeOnPageHide?: boolean;
}

export interface Pushlet {
  /** The current subscription: a new one after the page came back from the back/forward cache. */
  readonly subscription: Subscription;
  close(): Promise<void>;
}

/**
 * `data-ssp-state`: connecting → live → the termination reason (complete, closed, expired,
 * error, shutdown), or `failed` when the client gave up (the error's code is in
 * `data-ssp-error`). The end is also shown as an appended `.ssp-termination` element.
 */
export function pushlet(element: HTMLElement, options: PushletOptions): Pushlet {
  const { filter, render = defaultRender(element), closeOnPageHide = true } = options;
  const doc = element.ownerDocument;
  const marker = (className: string, text: string) => {
    const node = doc.createElement(isList(element) ? 'li' : 'div');
    node.className = className;
    node.textContent = text;
    element.append(node);
  };
  const running = () => element.dataset.sspState === 'connecting' || element.dataset.sspState === 'live';

  let subscription!: Subscription;
  let detach = () => {};
  // A page in the back/forward cache may be shown again, so the element must not keep a session
  // that was closed behind its back: it opens a new one and says so (events in between are missed).
  const view = doc.defaultView;
  let hidden = false;
  const onPageHide = () => {
    if (!running()) return;
    hidden = true;
    detach(); // the `closed` answer concerns a page that is gone
    void subscription.close({ keepalive: true });
  };
  const onPageShow = (event: PageTransitionEvent) => {
    if (!event.persisted || !hidden) return;
    hidden = false;
    marker('ssp-reopened', 'new session after the page was restored: events may be missing');
    connect();
  };
  const unwatchPage = () => {
    view?.removeEventListener('pagehide', onPageHide);
    view?.removeEventListener('pageshow', onPageShow);
  };

  const connect = () => {
    element.dataset.sspState = 'connecting';
    subscription = subscribe(options.endpoint, options.stream, options.params ?? {}, {
      gaps: 'continue',
      ...options.subscribeOptions,
      closeOnPageHide: false, // watched above instead, so that a page restored from the cache reopens
    });
    const listeners = [
      subscription.on('event', (event) => {
        element.dataset.sspState = 'live';
        if (!filter || filter(event)) element.append(render(event));
      }),
      subscription.on('gap', (gap) => marker('ssp-gap', gap.message)),
      // SSP-CLIENT-29: a new session (reopen advice, or the old one was lost) is a stream restart.
      subscription.on('restart', ({ cause }) => {
        const why = 'termination' in cause ? cause.termination.reason : cause.error.code;
        marker('ssp-reopened', `new session after ${why}: events may repeat or be missing`);
      }),
      subscription.on('termination', (termination) => {
        element.dataset.sspState = termination.reason;
        const why = termination.error ? `: ${termination.error.message}` : '';
        marker('ssp-termination', `stream ${termination.reason}${why}`);
        unwatchPage();
        options.onTermination?.(termination);
      }),
      subscription.on('error', (error) => {
        element.dataset.sspState = 'failed';
        element.dataset.sspError = error.code;
        marker('ssp-termination ssp-error', error.message);
        unwatchPage();
        options.onError?.(error);
      }),
    ];
    detach = () => listeners.forEach((off) => off());
  };
  connect();
  if (closeOnPageHide && view) {
    view.addEventListener('pagehide', onPageHide);
    view.addEventListener('pageshow', onPageShow);
  }

  return {
    get subscription() {
      return subscription;
    },
    async close() {
      unwatchPage();
      await subscription.close();
      // close() could not be confirmed by the server: still show that the element is done.
      if (running()) {
        element.dataset.sspState = 'closed';
        marker('ssp-termination', 'stream closed');
      }
    },
  };
}

const isList = (element: HTMLElement) => element.tagName === 'UL' || element.tagName === 'OL';

function defaultRender(element: HTMLElement): (event: SspEvent) => Node {
  return ({ seq, data }) => {
    const node = element.ownerDocument.createElement(isList(element) ? 'li' : 'div');
    node.className = 'ssp-event';
    node.dataset.seq = String(seq);
    node.textContent = JSON.stringify(data);
    return node;
  };
}
