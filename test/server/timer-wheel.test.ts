// The single timer behind every deadline: fires in order, never early, cancels cleanly.
import { expect, it } from 'vitest';
import { TimerWheel } from '../../reference-server/holder/timer-wheel.ts';
import { sleep } from './helpers.ts';

it('fires targets in deadline order, never before their deadline, and skips cancelled ones', async () => {
  const wheel = new TimerWheel(5);
  const fired: Array<[string, number]> = [];
  const start = Date.now();
  const at = (name: string, ms: number) => wheel.schedule(start + ms, { onTimer: () => fired.push([name, Date.now() - start]) });
  at('c', 120);
  at('a', 30);
  const cancelled = at('x', 60);
  at('b', 60);
  wheel.cancel(cancelled);
  expect(wheel.size).toBe(3);
  await sleep(250);
  expect(fired.map(([name]) => name)).toEqual(['a', 'b', 'c']);
  for (const [name, ms] of fired) expect(ms, name).toBeGreaterThanOrEqual({ a: 30, b: 60, c: 120 }[name] as number);
  expect(wheel.size).toBe(0);
});

it('re-arms for an earlier deadline scheduled after a later one, and fires past deadlines at once', async () => {
  const wheel = new TimerWheel(5);
  const fired: string[] = [];
  wheel.schedule(Date.now() + 5000, { onTimer: () => fired.push('late') });
  wheel.schedule(Date.now() + 20, { onTimer: () => fired.push('early') });
  wheel.schedule(Date.now() - 1000, { onTimer: () => fired.push('past') });
  await sleep(80);
  expect(fired).toEqual(['past', 'early']);
  wheel.clear();
  expect(wheel.size).toBe(0);
});

it('keeps firing the rest of a bucket when one target throws', async () => {
  const wheel = new TimerWheel(5);
  const fired: string[] = [];
  const due = Date.now() + 10;
  const error = console.error;
  console.error = () => {};
  try {
    wheel.schedule(due, {
      onTimer: () => {
        throw new Error('boom');
      },
    });
    wheel.schedule(due, { onTimer: () => fired.push('second') });
    await sleep(60);
  } finally {
    console.error = error;
  }
  expect(fired).toEqual(['second']);
});
