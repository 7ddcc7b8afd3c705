// `xanjax types --out DIR` writes files another project (or language) can use directly.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { schemaFiles } from '../../schemas/index.ts';
import { bundleFile, main, typesOutFile } from '../../schemas/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'xanjax-types-command-'));
const out = join(dir, 'nested', 'ssp-types');
const logs: string[] = [];
const errors: string[] = [];

beforeAll(() => {
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => void logs.push(String(line)));
  vi.spyOn(console, 'error').mockImplementation((line: unknown) => void errors.push(String(line)));
});
afterAll(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

describe('xanjax types', () => {
  it('writes the types, every schema, the registry and the bundle into --out (created)', async () => {
    expect(await main(['--out', out])).toBe(0);
    expect(readFileSync(join(out, typesOutFile), 'utf8')).toBe(readFileSync(new URL('../../schemas/types.gen.ts', import.meta.url), 'utf8'));
    for (const file of [...schemaFiles, 'error-codes.json']) expect(existsSync(join(out, file)), file).toBe(true);
    expect(logs.at(-1)).toContain(out);
  });

  it('the bundle compiles under strict ajv and validates by $id without any other file', () => {
    const bundle = JSON.parse(readFileSync(join(out, bundleFile), 'utf8')) as { $defs: Record<string, unknown> };
    expect(Object.keys(bundle.$defs)).toHaveLength(schemaFiles.length);
    const ajv = new Ajv2020({ strict: true });
    ajvFormats.default(ajv);
    ajv.addSchema(bundle);
    const poll = ajv.getSchema('https://xanjax.dev/schemas/ssp-1/poll.schema.json')!;
    expect(poll({ ssp: 1, type: 'poll', sig: 'abcdefghijklmnop', hold: 0 })).toBe(true);
    expect(poll({ ssp: 1, type: 'poll', sig: 42 })).toBe(false);
    const server = ajv.compile({ $ref: 'https://xanjax.dev/schemas/ssp-1/server-message.schema.json' });
    expect(server({ ssp: 1, type: 'batch', sig: 'abcdefghijklmnop', events: [{ seq: 1, data: { n: 1 } }] })).toBe(true);
    expect(server({ ssp: 1, type: 'batch', sig: 'abcdefghijklmnop', events: [{ seq: 0, data: 1 }] })).toBe(false);
  });

  it('--help prints usage and exits 0', async () => {
    expect(await main(['--help'])).toBe(0);
    expect(logs.at(-1)).toMatch(/^Usage: xanjax types \[--out DIR\]/);
  });

  it.each([[['--bogus']], [['somewhere']], [['--out']], [['--out', '']]])('bad usage %j exits 2 with the usage', async (argv) => {
    expect(await main(argv)).toBe(2);
    expect(errors.at(-1)).toMatch(/^xanjax types: .+\n\nUsage: xanjax types/);
  });
});
