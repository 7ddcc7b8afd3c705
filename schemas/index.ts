// The SSP/1 JSON Schemas as loaded objects, the error-code registry, and validators
// compiled once (ajv, draft 2020-12, strict). Shared by the reference server, the
// conformance runner and the reference client: nothing here knows about any of them.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { packageFile } from './package-root.ts';
import type { ErrorCode } from './types.gen.ts';

export const schemaBaseId = 'https://xanjax.dev/schemas/ssp-1/';

/** Every schema file, keyed by the kind name used with `validate(kind, …)`. */
export const schemaKinds = [
  'open',
  'poll',
  'close',
  'session',
  'batch',
  'termination',
  'error',
  'discovery',
  'client-message',
  'server-message',
  'conformance-report',
] as const;
export type SchemaKind = (typeof schemaKinds)[number];

export type ServerMessageType = 'session' | 'batch' | 'termination' | 'error';
export type ClientMessageType = 'open' | 'poll' | 'close';

/** A JSON Schema document as parsed from its file. */
export type JsonSchema = { $id: string; title: string; [keyword: string]: unknown };

function load<T>(file: string): T {
  return JSON.parse(readFileSync(packageFile(`schemas/${file}`), 'utf8')) as T;
}

export const defsSchema = load<JsonSchema>('defs.schema.json');

export const schemas = Object.fromEntries(
  schemaKinds.map((kind) => [kind, load<JsonSchema>(`${kind}.schema.json`)]),
) as Record<SchemaKind, JsonSchema>;

/** File name of every schema (defs first), in a stable order. */
/** Schemas of extensions (spec §6.5): the `ext.<name>` members, not messages of their own. */
export const extensionSchemaFiles: readonly string[] = ['ext-multiplex.schema.json'];

export const schemaFiles: readonly string[] = ['defs.schema.json', ...schemaKinds.map((kind) => `${kind}.schema.json`), ...extensionSchemaFiles];

/** Every schema document, defs first, in `schemaFiles` order. */
export const allSchemas: readonly JsonSchema[] = [defsSchema, ...schemaKinds.map((kind) => schemas[kind]), ...extensionSchemaFiles.map((file) => load<JsonSchema>(file))];

export interface ErrorCodeInfo {
  code: ErrorCode;
  /** HTTP status of a response carrying this error (spec §15.2). */
  status: number;
  retryable: boolean;
  description: string;
}

/** The error-code registry, exactly `schemas/error-codes.json`. */
export const errorCodes: readonly ErrorCodeInfo[] = load<ErrorCodeInfo[]>('error-codes.json');

export const errorCodeInfo = Object.fromEntries(errorCodes.map((info) => [info.code, info])) as Record<
  ErrorCode,
  ErrorCodeInfo
>;

/** One schema violation: `path`, a JSON Pointer into the value ('' for the whole value), and what is wrong there. */
export interface SchemaProblem {
  path: string;
  message: string;
}

/**
 * `problems` has the shape of an SSP error's `details.errors` (spec §6.2, SSP-OPEN-11);
 * `errors` says the same as one line per problem (`/hold must be >= 0`).
 */
export type ValidationResult = { ok: true } | { ok: false; errors: string[]; problems: SchemaProblem[] };

export interface Validator {
  validate(kind: SchemaKind, value: unknown): ValidationResult;
  /** Validates against the schema named by `value.type`, so errors name the actual problem. */
  validateServerMessage(value: unknown): ValidationResult;
  /** Same for client messages (open, poll, close). */
  validateClientMessage(value: unknown): ValidationResult;
}

const serverTypes: readonly ServerMessageType[] = ['session', 'batch', 'termination', 'error'];
const clientTypes: readonly ClientMessageType[] = ['open', 'poll', 'close'];

/** One problem per ajv error, the message with its detail; `if` wrappers are dropped, their branch error is kept. */
function describe(errors: ErrorObject[] | null | undefined): SchemaProblem[] {
  return (errors ?? [])
    .filter((error) => error.keyword !== 'if')
    .map((error) => {
      const params = error.params as Record<string, unknown>;
      const detail =
        error.keyword === 'additionalProperties'
          ? `: '${String(params.additionalProperty)}'`
          : error.keyword === 'enum'
            ? `: ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`
            : error.keyword === 'const'
              ? `: ${JSON.stringify(params.allowedValue)}`
              : '';
      // A `false` subschema is how the schemas forbid a property in some cases (e.g. termination `error`).
      const message = error.keyword === 'false schema' ? 'must not be present here' : (error.message ?? error.keyword);
      return { path: error.instancePath, message: `${message}${detail}` };
    });
}

function failed(problems: SchemaProblem[]): ValidationResult {
  return { ok: false, problems, errors: problems.map(({ path, message }) => `${path || '/'} ${message}`) };
}

function run(validateFn: ValidateFunction, value: unknown): ValidationResult {
  return validateFn(value) ? { ok: true } : failed(describe(validateFn.errors));
}

function byType(
  validators: Record<SchemaKind, ValidateFunction>,
  types: readonly string[],
  value: unknown,
): ValidationResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return failed([{ path: '', message: 'must be object' }]);
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !types.includes(type)) {
    return failed([{ path: '/type', message: `must be one of ${types.map((t) => JSON.stringify(t)).join(', ')}` }]);
  }
  return run(validators[type as SchemaKind], value);
}

/** A fresh strict Ajv instance with every SSP/1 schema added (for callers that compile their own). */
export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  ajvFormats.default(ajv);
  for (const schema of allSchemas) ajv.addSchema(schema);
  return ajv;
}

let shared: Validator | undefined;

/** Compiles every schema once (the first call) and returns cheap validate functions. */
export function createValidator(): Validator {
  if (shared) return shared;
  const ajv = createAjv();
  const validators = Object.fromEntries(
    schemaKinds.map((kind) => [kind, ajv.getSchema(schemas[kind].$id) as ValidateFunction]),
  ) as Record<SchemaKind, ValidateFunction>;
  shared = {
    validate: (kind, value) => run(validators[kind], value),
    validateServerMessage: (value) => byType(validators, serverTypes, value),
    validateClientMessage: (value) => byType(validators, clientTypes, value),
  };
  return shared;
}
