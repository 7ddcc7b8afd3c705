// The package entry points work for a user's project on plain Node (no TypeScript loader):
// each JS entry re-exports exactly what its TypeScript module exports.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const entries = {
  'xanjax/conformance': '../../conformance/index.ts',
  'xanjax/server': '../../reference-server/index.ts',
  'xanjax/client': '../../reference-client/node.ts',
  'xanjax/schemas': '../../schemas/index.ts',
} as const;

let project: string;
beforeAll(() => {
  // A consumer project with xanjax installed in node_modules (as `npm install` would link it).
  project = mkdtempSync(join(tmpdir(), 'xanjax-consumer-'));
  mkdirSync(join(project, 'node_modules'));
  symlinkSync(root, join(project, 'node_modules', 'xanjax'), 'dir');
  writeFileSync(join(project, 'package.json'), '{"type":"module"}');
});
afterAll(() => rmSync(project, { recursive: true, force: true }));

async function exportsSeenByPlainNode(specifier: string): Promise<string[]> {
  const script = `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m).sort()));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: project });
  return JSON.parse(stdout) as string[];
}

describe('package exports', () => {
  it.each(Object.entries(entries))('%s loads in plain Node and exports everything its module does', async (specifier, module) => {
    const expected = Object.keys(await import(module)).sort();
    expect(expected.length).toBeGreaterThan(0);
    expect(await exportsSeenByPlainNode(specifier)).toEqual(expected);
  });
});
