// `npm run fuzz -- --cases 200000 --seed N`: the long fuzz run (the bounded one is part of
// `npm test`). Prints a progress line, then the figures; exits 1 when the invariant broke.
import { parseArgs } from 'node:util';
import { runFuzz } from '../test/fuzz/run-fuzz.ts';

const { values } = parseArgs({ options: { cases: { type: 'string', default: '200000' }, seed: { type: 'string' } } });
const cases = Number(values.cases);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!Number.isSafeInteger(cases) || cases < 1 || !Number.isSafeInteger(seed)) {
  console.error('usage: npm run fuzz -- [--cases N] [--seed N]');
  process.exit(2);
}
console.log(`fuzz: ${cases} cases, seed ${seed}`);
const report = await runFuzz({ cases, seed, progressEvery: Math.max(1000, Math.round(cases / 50)) });
console.log(JSON.stringify({ ...report, kinds: undefined }, null, 2));
console.log(`cases by kind: ${JSON.stringify(report.kinds)}`);
if (report.failure !== undefined || report.wellBehaved.problems.length > 0 || report.cases !== cases) {
  console.error(`fuzz: FAILED (replay with --seed ${seed})\n${report.failure ?? report.wellBehaved.problems.join('\n')}`);
  process.exit(1);
}
console.log(`fuzz: passed: ${report.cases} cases in ${Math.round(report.ms / 1000)} s, no 5xx, no hang; the concurrent session received all ${report.wellBehaved.events} events (${report.wellBehaved.reconnects} reconnects); ${report.remeasured} cases re-sent after no answer within the bound`);
