// Disk use of the file log under an endless ticker with session churn (README "Scaling out"):
// a topic gets events (~100 bytes each) while 20 sessions read it and a session is opened and
// closed every 10 events, until --events or --seconds (whichever comes first); the folder's
// size is sampled every 10,000 events. The plateau is the largest size in the second half of
// the run: once acknowledged segments, expired terminations and the compacted state file are
// all removed as fast as they grow, it stops rising.
//   npm run soak:file-log -- [--seconds 600] [--events 10000000] [--retain 1000] [--memory-ms 60000]
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { close, open, poll } from '../test/server/helpers.ts';
import { createServer } from '../reference-server/index.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '10000000' },
    seconds: { type: 'string', default: '600' },
    retain: { type: 'string', default: '1000' },
    // How long terminations are remembered (the default limits' 60 s): they are the state file's live part.
    'memory-ms': { type: 'string', default: '60000' },
  },
});
const total = Number(values.events);
const deadline = Date.now() + Number(values.seconds) * 1000;
const dir = mkdtempSync(join(tmpdir(), 'xanjax-disk-'));
const server = await createServer({
  port: 0,
  log: `file:${dir}`,
  topics: ['ticker'],
  limits: { retainEvents: Number(values.retain), terminationMemoryMs: Number(values['memory-ms']) },
});

const kib = (size: number) => `${(size / 1024).toFixed(0)} KiB`;

function bytes(path: string): number {
  let sum = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    sum += entry.isDirectory() ? bytes(full) : statSync(full).size;
  }
  return sum;
}

let done = false;
const readers = await Promise.all(Array.from({ length: 20 }, () => open(server.url, 'ticker')));
const reading = readers.map(async (first) => {
  let sig = first;
  let received = 0;
  while (!done) {
    const r = await poll(server.url, sig, 1000);
    received += r.json.events?.length ?? 0;
    sig = r.json.sig ?? sig;
  }
  return received;
});
let max = 0;
const samples: number[] = [];
const started = Date.now();
const pad = 'x'.repeat(60);
let n = 0;
while (n < total && Date.now() < deadline) {
  server.publish('ticker', { n: ++n, pad });
  if (n % 10 === 0) await close(server.url, await open(server.url, 'ticker'));
  if (n % 10_000 === 0) {
    const now = bytes(dir);
    samples.push(now);
    max = Math.max(max, now);
    console.log(`${n} events: ${kib(now)} on disk (max ${kib(max)}), ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
}
done = true;
const received = await Promise.all(reading);
const secondHalf = samples.slice(Math.floor(samples.length / 2));
console.log(
  `events ${n} in ${((Date.now() - started) / 1000).toFixed(0)} s, sessions opened and closed ${Math.floor(n / 10)}, retainEvents ${values.retain}, ` +
    `termination memory ${values['memory-ms']} ms: max ${kib(max)}, plateau (max of the second half) ${kib(Math.max(0, ...secondHalf))}, ` +
    `first-half max ${kib(Math.max(0, ...samples.slice(0, samples.length - secondHalf.length)))}, final ${kib(bytes(dir))}; ` +
    `readers got ${Math.min(...received)}..${Math.max(...received)} events`,
);
await server.close();
rmSync(dir, { recursive: true, force: true });
