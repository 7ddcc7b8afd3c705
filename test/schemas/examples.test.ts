// Every example in schemas/examples/<kind>/ is valid against that kind's schema, and every
// wire message has examples (they are what implementers copy first).
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createValidator, schemaKinds } from '../../schemas/index.ts';
import type { SchemaKind } from '../../schemas/index.ts';

const examplesDir = new URL('../../schemas/examples/', import.meta.url);
const folders = readdirSync(examplesDir).sort();
const examples = folders.flatMap((folder) =>
  readdirSync(new URL(`${folder}/`, examplesDir))
    .sort()
    .map((file) => ({ folder, file, value: JSON.parse(readFileSync(new URL(`${folder}/${file}`, examplesDir), 'utf8')) as unknown })),
);
const validator = createValidator();

describe('schemas/examples', () => {
  it('every folder names a schema kind', () => {
    for (const folder of folders) expect(schemaKinds, folder).toContain(folder);
  });

  it('every message (not the unions) has at least one example', () => {
    for (const kind of schemaKinds.filter((k) => !k.endsWith('-message'))) expect(folders, kind).toContain(kind);
  });

  it.each(examples.map((e) => [`${e.folder}/${e.file}`, e] as const))('%s is valid', (_name, { folder, file, value }) => {
    expect(file).toMatch(/^[a-z0-9-]+\.json$/);
    expect(validator.validate(folder as SchemaKind, value)).toEqual({ ok: true });
  });

  it('server and client message examples also validate as their union and by type', () => {
    for (const { folder, value } of examples) {
      if (['session', 'batch', 'termination', 'error'].includes(folder)) {
        expect(validator.validate('server-message', value)).toEqual({ ok: true });
        expect(validator.validateServerMessage(value)).toEqual({ ok: true });
      }
      if (['open', 'poll', 'close'].includes(folder)) {
        expect(validator.validate('client-message', value)).toEqual({ ok: true });
        expect(validator.validateClientMessage(value)).toEqual({ ok: true });
      }
    }
  });

  it('batch, termination and error examples cover the cases the spec names', () => {
    const of = (folder: string) => examples.filter((e) => e.folder === folder).map((e) => e.value as Record<string, unknown>);
    const batches = of('batch');
    expect(batches.some((b) => (b.events as unknown[]).length === 0)).toBe(true);
    expect(batches.some((b) => (b.events as unknown[]).length > 1)).toBe(true);
    expect(batches.some((b) => b.gap !== undefined)).toBe(true);
    expect(new Set(of('termination').map((t) => t.reason))).toEqual(new Set(['complete', 'closed', 'expired', 'error', 'shutdown', 'revoked']));
    expect(of('error').some((e) => e.retryAfterMs !== undefined)).toBe(true);
    expect(of('error').some((e) => e.code === 'unsupported-version' && Array.isArray(e.versions))).toBe(true);
    expect(of('discovery').some((d) => d.conformance === true)).toBe(true);
    expect(new Set(of('open').map((o) => o.stream))).toEqual(new Set(['ssp.counter', 'ssp.ticker', 'ssp.burst', 'ssp.fail', 'chat.room-42']));
  });
});
