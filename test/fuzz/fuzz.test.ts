// The bounded fuzz run of `npm test` (the long run is `npm run fuzz`). The seed is printed;
// FUZZ_SEED=N reproduces a run, FUZZ_CASES=N changes its length.
import { expect, it } from 'vitest';
import { runFuzz } from './run-fuzz.ts';

const cases = Number(process.env.FUZZ_CASES ?? 2000);
const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

it(`${cases} hostile requests: typed errors or valid messages, never a 5xx or a hang; a concurrent session loses nothing`, { timeout: 600_000 }, async () => {
  const report = await runFuzz({ cases, seed });
  console.log(`fuzz: seed ${report.seed} (FUZZ_SEED=${report.seed} to replay), ${report.cases} cases in ${report.ms} ms; statuses ${JSON.stringify(report.statuses)}; well-behaved session: ${report.wellBehaved.events} events in ${report.wellBehaved.polls} polls (${report.wellBehaved.reconnects} reconnects); ${report.remeasured} cases re-sent after no answer within the bound`);
  expect(report.failure, report.failure).toBeUndefined();
  expect(report.cases).toBe(cases);
  expect(report.wellBehaved.problems).toEqual([]);
  expect(report.wellBehaved.events).toBeGreaterThan(0);
});
