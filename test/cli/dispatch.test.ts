import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { testBin as bin } from '../support/bundles.ts';

const run = (...args: string[]) =>
  promisify(execFile)(process.execPath, [bin, ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

describe('xanjax command dispatcher', () => {
  it('lists every command under --help and exits 0', async () => {
    const { code, stdout } = await run('--help');
    expect(code).toBe(0);
    for (const name of ['types', 'serve', 'conformance', 'tail']) expect(stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  it('prints the package version for --version and -v', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const { code, stdout } = await run(flag);
      expect(code).toBe(0);
      expect(stdout).toBe(`${version}\n`);
    }
  });

  it('rejects an unknown command with usage and exit 2', async () => {
    const { code, stderr } = await run('frobnicate');
    expect(code).toBe(2);
    expect(stderr).toContain("unknown command 'frobnicate'");
  });

  it.each(['types', 'serve', 'conformance', 'tail'])('loads `%s` and prints its own help', async (name) => {
    const { code, stdout } = await run(name, '--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/usage/i);
    expect(stdout).toContain(name);
  });
});
