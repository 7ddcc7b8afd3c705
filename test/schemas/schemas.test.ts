// Every schema compiles under ajv's strict mode and follows the file conventions;
// the error-code registry and the error schema agree (spec §15.2).
import { readdirSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { allSchemas, createAjv, defsSchema, errorCodes, schemaBaseId, schemaFiles, schemaKinds, schemas } from '../../schemas/index.ts';
import type { JsonSchema } from '../../schemas/index.ts';

const dialect = 'https://json-schema.org/draft/2020-12/schema';

describe('schema files', () => {
  it('schemaFiles lists every *.schema.json in schemas/', () => {
    const onDisk = readdirSync(new URL('../../schemas/', import.meta.url)).filter((file) => file.endsWith('.schema.json'));
    expect([...schemaFiles].sort()).toEqual(onDisk.sort());
  });

  it.each(allSchemas.map((schema) => [schema.$id, schema] as const))('%s: draft 2020-12, $id from its file, a title', (id, schema) => {
    expect(schema.$schema).toBe(dialect);
    expect(schemaFiles.map((file) => `${schemaBaseId}${file}`)).toContain(id);
    expect(schema.title).toMatch(/^[A-Z][A-Za-z0-9]*$/);
    expect(typeof schema.description).toBe('string');
  });

  it.each(schemaKinds.map((kind) => [kind, schemas[kind]] as const))('%s compiles alone (with defs) in strict mode', (_kind, schema) => {
    const ajv = new Ajv2020({ strict: true });
    ajvFormats.default(ajv);
    const referenced = new Set(JSON.stringify(schema).match(/[a-z-]+\.schema\.json/g) ?? []);
    for (const other of allSchemas) if (other !== schema && referenced.has(other.$id.slice(schemaBaseId.length))) ajv.addSchema(other);
    if (!referenced.has('defs.schema.json') && schema !== defsSchema) ajv.addSchema(defsSchema);
    expect(() => ajv.compile(schema)).not.toThrow();
  });

  it('every message schema forbids unknown properties', () => {
    const messages = schemaKinds.filter((kind) => !kind.endsWith('-message'));
    for (const kind of messages) expect(schemas[kind].additionalProperties, kind).toBe(false);
  });

  it('the two unions are oneOf over their messages', () => {
    const targets = (schema: JsonSchema) => (schema.oneOf as { $ref: string }[]).map((entry) => entry.$ref);
    expect(targets(schemas['client-message'])).toEqual(['open.schema.json', 'poll.schema.json', 'close.schema.json']);
    expect(targets(schemas['server-message'])).toEqual([
      'session.schema.json',
      'batch.schema.json',
      'termination.schema.json',
      'error.schema.json',
    ]);
  });
});

describe('error-code registry', () => {
  const validate = createAjv().getSchema(schemas.error.$id)!;
  const message = (code: string, retryable: boolean) => ({
    ssp: 1,
    type: 'error',
    code,
    message: 'x',
    retryable,
    ...(code === 'unsupported-version' ? { versions: [1] } : {}),
    ...(retryable && code !== 'internal-error' ? { retryAfterMs: 1000 } : {}),
  });

  it('lists exactly the codes of the error schema enum, in the same order', () => {
    const codeEnum = (defsSchema.$defs as Record<string, { enum: string[] }>).ErrorCode.enum;
    expect(errorCodes.map((entry) => entry.code)).toEqual(codeEnum);
  });

  it('has one entry per code with an HTTP error status and a description', () => {
    expect(new Set(errorCodes.map((entry) => entry.code)).size).toBe(errorCodes.length);
    for (const entry of errorCodes) {
      expect(Object.keys(entry).sort()).toEqual(['code', 'description', 'retryable', 'status']);
      expect(entry.status).toBeGreaterThanOrEqual(400);
      expect(entry.status).toBeLessThan(600);
      expect(entry.description.length).toBeGreaterThan(0);
    }
  });

  it.each(errorCodes.map((entry) => [entry.code, entry] as const))('%s: the schema accepts the registry retryable and rejects the opposite', (code, entry) => {
    expect(validate(message(code, entry.retryable)), JSON.stringify(validate.errors)).toBe(true);
    expect(validate(message(code, !entry.retryable))).toBe(false);
  });

  it('retryable codes answered with 503 require retryAfterMs (spec §15.2)', () => {
    for (const entry of errorCodes.filter((e) => e.status === 503)) {
      const { retryAfterMs: _omitted, ...withoutRetryAfter } = message(entry.code, true) as Record<string, unknown>;
      expect(validate(withoutRetryAfter), entry.code).toBe(false);
    }
  });
});
