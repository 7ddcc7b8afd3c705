// schemas/vectors/<kind>.json (JSON-Schema-Test-Suite style: [{description, data, valid}]):
// each vector must give its `valid` result, through the kind's schema and through the
// by-type entry points the server and the runner use.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createValidator, schemaKinds } from '../../schemas/index.ts';
import type { SchemaKind } from '../../schemas/index.ts';

interface Vector {
  description: string;
  data: unknown;
  valid: boolean;
}

const vectorsDir = new URL('../../schemas/vectors/', import.meta.url);
const files = readdirSync(vectorsDir).filter((file) => file.endsWith('.json')).sort();
const vectors = files.flatMap((file) => {
  const kind = file.replace(/\.json$/, '') as SchemaKind;
  const list = JSON.parse(readFileSync(new URL(file, vectorsDir), 'utf8')) as Vector[];
  return list.map((vector) => ({ kind, ...vector }));
});
const validator = createValidator();
const serverTypes = ['session', 'batch', 'termination', 'error'];
const clientTypes = ['open', 'poll', 'close'];

describe('schemas/vectors', () => {
  it('every file names a schema kind and every wire message has vectors', () => {
    for (const file of files) expect(schemaKinds, file).toContain(file.replace(/\.json$/, ''));
    for (const kind of [...clientTypes, ...serverTypes, 'discovery']) expect(files, kind).toContain(`${kind}.json`);
  });

  it('every vector has exactly description, data and valid, and descriptions are unique per file', () => {
    for (const vector of vectors) {
      const { kind: _kind, ...rest } = vector;
      expect(Object.keys(rest).sort(), vector.description).toEqual(['data', 'description', 'valid']);
      expect(typeof vector.valid).toBe('boolean');
    }
    for (const file of files) {
      const kind = file.replace(/\.json$/, '');
      const descriptions = vectors.filter((v) => v.kind === kind).map((v) => v.description);
      expect(new Set(descriptions).size, file).toBe(descriptions.length);
      expect(descriptions.length, file).toBeGreaterThan(0);
    }
  });

  it('each wire message has valid and invalid vectors', () => {
    for (const kind of [...clientTypes, ...serverTypes, 'discovery']) {
      const of = vectors.filter((v) => v.kind === kind);
      expect(of.some((v) => v.valid), kind).toBe(true);
      expect(of.some((v) => !v.valid), kind).toBe(true);
    }
  });

  it.each(vectors.map((v) => [`${v.kind}: ${v.description}`, v] as const))('%s', (_name, { kind, data, valid }) => {
    const result = validator.validate(kind, data);
    expect(result.ok).toBe(valid);
    if (!result.ok) expect(result.errors.length).toBeGreaterThan(0);
    if (serverTypes.includes(kind)) expect(validator.validateServerMessage(data).ok).toBe(valid);
    if (clientTypes.includes(kind)) expect(validator.validateClientMessage(data).ok).toBe(valid);
  });
});
