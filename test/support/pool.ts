// Proof runs that mostly wait (on holds, timers, restarts) are started together, a few at a
// time. A fixed lane per run (run i in lane i % n) lets two long runs queue behind each other
// in one lane while the other lanes sit idle; here each run starts as soon as any slot frees.

/**
 * Starts `run(item)` for every item, in order, at most `limit` at a time. Returns each item's
 * outcome at once (the tests await their own); a run that fails frees its slot all the same.
 */
export function startPooled<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Map<T, Promise<R>> {
  const starts: Array<() => void> = [];
  const outcomes = new Map<T, Promise<R>>();
  let next = 0;
  const startNext = () => {
    if (next < starts.length) starts[next++]!();
  };
  for (const item of items) {
    const outcome = new Promise<void>((start) => starts.push(start)).then(() => run(item));
    outcome.then(startNext, startNext);
    outcomes.set(item, outcome);
  }
  for (let i = 0; i < limit; i++) startNext();
  return outcomes;
}
