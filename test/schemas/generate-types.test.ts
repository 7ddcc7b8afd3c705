// schemas/types.gen.ts is generated from the schemas and checked in: it must be up to
// date, deterministic, and `--check` must catch drift (CI runs `npm run types:check`).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { generateTypes, header, main, typesFile } from '../../scripts/generate-types.ts';

const dir = mkdtempSync(join(tmpdir(), 'xanjax-types-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('scripts/generate-types.ts', () => {
  it('the checked-in types.gen.ts is up to date (types:check passes)', async () => {
    expect(await main(['--check'])).toBe(0);
  });

  it('output is deterministic and starts with the do-not-edit header', async () => {
    const [first, second] = await Promise.all([generateTypes(), generateTypes()]);
    expect(first).toBe(second);
    expect(first.split('\n', 1)[0]).toBe(header);
    expect(readFileSync(typesFile, 'utf8')).toBe(first);
  });

  it('declares a named export for every schema title and the unions', async () => {
    const code = await generateTypes();
    const exported = new Set([...code.matchAll(/^export (?:type|interface) (\w+)/gm)].map((m) => m[1]));
    const required = [
      'OpenMessage', 'PollMessage', 'CloseMessage', 'SessionMessage', 'BatchMessage', 'TerminationMessage',
      'ErrorMessage', 'DiscoveryDocument', 'ConformanceReport', 'ClientMessage', 'ServerMessage',
      'SspEvent', 'Gap', 'Advice', 'ErrorCode', 'Signature', 'StreamName', 'TerminationReason',
    ];
    for (const name of required) expect(exported, name).toContain(name);
    expect(code).toMatch(/^export type ServerMessage = SessionMessage \| BatchMessage \| TerminationMessage \| ErrorMessage;$/m);
    expect(code).toMatch(/^export type ClientMessage = OpenMessage \| PollMessage \| CloseMessage;$/m);
    expect(code).not.toMatch(/SspSchemaBundle/);
  });

  it('--check exits 1 and says how to fix a drifted or missing file', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const stale = join(dir, 'types.gen.ts');
    writeFileSync(stale, (await generateTypes()).replace('data: unknown;', 'data: string;'));
    expect(await main(['--check'], pathToFileURL(stale))).toBe(1);
    expect(await main(['--check'], pathToFileURL(join(dir, 'missing.ts')))).toBe(1);
    const messages = errors.mock.calls.map((call) => String(call[0]));
    errors.mockRestore();
    expect(messages[0]).toMatch(/types\.gen\.ts differs from schemas\/\*\.schema\.json \(first at line \d+\)/);
    expect(messages[0]).toContain('npm run types');
    expect(messages[1]).toMatch(/missing\.ts is missing/);
  });

  it('without --check writes the file', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const target = join(dir, 'written.ts');
    expect(await main([], pathToFileURL(target))).toBe(0);
    log.mockRestore();
    expect(readFileSync(target, 'utf8')).toBe(await generateTypes());
  });
});
