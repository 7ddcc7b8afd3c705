// `ticker`: the demo page's live feed, a small market of made-up symbols whose prices follow
// a deterministic path of n, so a session resumed at position p continues the same path.
import { setTimeout as sleep } from 'node:timers/promises';
import type { StreamDefinition } from './types.ts';

const SYMBOLS = ['XJX', 'PUSH', 'POLL', 'HOLD', 'SEQ'] as const;

/** Price of symbol i at tick n: a few slow waves plus a hashed wobble, always positive. */
function price(i: number, n: number): number {
  const base = 40 + 35 * i;
  const wave = Math.sin(n / (9 + i * 3)) * base * 0.06 + Math.sin(n / (41 + i * 7) + i) * base * 0.1;
  const wobble = ((Math.imul(n + 1, 2654435761 + i * 40503) >>> 0) / 2 ** 32 - 0.5) * base * 0.01;
  return Math.round((base + wave + wobble) * 100) / 100;
}

export const demoTicker: StreamDefinition<{ intervalMs: number }> = {
  description: 'Demo: a live price feed {n, symbol, price, change, at}, one tick every intervalMs, cycling through five symbols.',
  resumable: true,
  params: {
    type: 'object',
    properties: { intervalMs: { type: 'integer', minimum: 50, maximum: 60000, default: 400 } },
    additionalProperties: false,
  },
  async *produce({ intervalMs }, { signal, from }) {
    for (let n = from + 1; ; n++) {
      await sleep(intervalMs, undefined, { signal });
      const i = n % SYMBOLS.length;
      const now = price(i, n);
      const before = price(i, n - SYMBOLS.length);
      yield { n, symbol: SYMBOLS[i], price: now, change: Math.round((now - before) * 100) / 100, at: new Date().toISOString() };
    }
  },
};
