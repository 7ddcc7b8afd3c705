// Disk use of the file log under an endless ticker with session churn (README "Scaling out"):
// a topic gets --events events (~100 bytes each) while 20 sessions read it and a session is
// opened and closed every 10 events; the folder's size is sampled every 10,000 events.
//   npx tsx scripts/measure-file-log-disk.ts [--events 200000] [--retain 1000]
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { close, open, poll } from '../test/server/helpers.ts';
import { createServer } from '../reference-server/index.ts';

const { values } = parseArgs({ options: { events: { type: 'string', default: '200000' }, retain: { type: 'string', default: '1000' } } });
const total = Number(values.events);
const dir = mkdtempSync(join(tmpdir(), 'xanjax-disk-'));
const server = await createServer({ port: 0, log: `file:${dir}`, topics: ['ticker'], limits: { retainEvents: Number(values.retain) } });

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
const started = Date.now();
const pad = 'x'.repeat(60);
for (let n = 1; n <= total; n++) {
  server.publish('ticker', { n, pad });
  if (n % 10 === 0) await close(server.url, await open(server.url, 'ticker'));
  if (n % 10_000 === 0) {
    const now = bytes(dir);
    max = Math.max(max, now);
    console.log(`${n} events: ${(now / 1024).toFixed(0)} KiB on disk (max ${(max / 1024).toFixed(0)} KiB), ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
}
done = true;
const received = await Promise.all(reading);
console.log(`events ${total}, sessions opened and closed ${total / 10}, retainEvents ${values.retain}: max ${(max / 1024).toFixed(0)} KiB, final ${(bytes(dir) / 1024).toFixed(0)} KiB; readers got ${Math.min(...received)}..${Math.max(...received)} events`);
await server.close();
rmSync(dir, { recursive: true, force: true });
