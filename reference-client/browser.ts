// Browser entry point, an ES module with no build step for its users (`npm run build` bundles
// it into dist/xanjax-client.js, which the reference server serves as /xanjax-client.js): the core bound to the page's
// fetch and closed with the page, and pushlet() to connect a stream to a DOM element.
export { subscribe } from './browser-subscribe.ts';
export type { BrowserSubscribeOptions } from './browser-subscribe.ts';
export { closeOnPageHide } from './page-hide.ts';
export { pushlet } from './pushlet.ts';
export type { Pushlet, PushletOptions } from './pushlet.ts';
export * from './core.ts';
