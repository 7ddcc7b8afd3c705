// An allocation profile of a bench server, collected objects included (V8's sampling heap
// profiler; `--heap-prof` keeps only what is still alive, which misses the garbage that a
// request leaves). Plain JavaScript: it is loaded before tsx.
//
//   BENCH_ALLOC_DIR=/tmp/alloc BENCH_SERVER_FLAGS=--import=./bench/alloc-hook.mjs npm run bench -- …
//   npx tsx bench/alloc-summary.ts /tmp/alloc/*.heapprofile
//
// Each server process writes <peer>-<pid>.heapprofile when the bench closes it.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const dir = process.env.BENCH_ALLOC_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.startSampling', { samplingInterval: 2048, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  // server-main.ts ends with process.exit; a same-thread inspector session answers synchronously.
  const exit = process.exit.bind(process);
  process.exit = (code) => {
    session.post('HeapProfiler.stopSampling', (error, result) => {
      if (!error) writeFileSync(`${dir}/${process.argv[2]}-${process.pid}.heapprofile`, JSON.stringify(result.profile));
    });
    return exit(code);
  };
}
