// Summarizes allocation profiles from bench/alloc-hook.mjs: bytes allocated over the whole
// run by the function that allocated them (self), largest first.
//
//   npx tsx bench/alloc-summary.ts [--top 40] FILE.heapprofile ...
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

interface AllocNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: AllocNode[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '40' } } });
const top = Number(values.top);
const root = new URL('..', import.meta.url).pathname;

for (const file of positionals) {
  const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: AllocNode };
  const bytes = new Map<string, number>();
  let total = 0;
  const pending = [head];
  for (let node = pending.pop(); node; node = pending.pop()) {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = `${functionName || '(anonymous)'} ${url.replace('file://', '').replace(root, '')}:${lineNumber + 1}`;
    total += node.selfSize;
    if (node.selfSize > 0) bytes.set(where, (bytes.get(where) ?? 0) + node.selfSize);
    pending.push(...node.children);
  }
  console.log(`${basename(file)}: ${(total / 1e6).toFixed(0)} MB allocated (sampled)`);
  for (const [where, size] of [...bytes].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * size) / total).toFixed(1).padStart(6)}% ${(size / 1e6).toFixed(1).padStart(8)} MB  ${where}`);
  }
}
