// The README's TypeScript examples compile against the real package API (imported by its
// published names, e.g. 'xanjax/server'), so the documentation cannot drift from the code.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
// Inside the package, so 'xanjax/…' resolves through package.json "exports" (self-reference).
const dir = join(root, 'test-artifacts', 'readme-snippets');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('every ```ts block of README.md type-checks', async () => {
  const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  expect(blocks.length).toBeGreaterThanOrEqual(3);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // Each block is its own module (top-level await allowed), checked with the project's settings.
  blocks.forEach((code, i) => writeFileSync(join(dir, `snippet-${i + 1}.ts`), `${code}\nexport {};\n`));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', include: ['*.ts'] }));
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = await promisify(execFile)(process.execPath, [tsc, '--noEmit', '-p', dir]).then(
    () => '',
    (error: { stdout: string }) => error.stdout,
  );
  expect(result).toBe('');
}, 60_000);
