// The `multiplex` extension's members on the wire (spec §23, schemas/ext-multiplex.schema.json):
// their TypeScript shapes, and validators for what clients send in `ext.multiplex`.
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { createAjv, schemaBaseId } from '../../schemas/index.ts';
import type { Advice, SspEvent, TerminationMessage } from '../../schemas/types.gen.ts';
import { SspError } from '../errors.ts';

export const EXTENSION = 'multiplex';

export interface StreamSpec {
  id: string;
  stream: string;
  params?: Record<string, unknown>;
}

export interface OpenExt {
  id?: string;
  add?: StreamSpec[];
}

export interface PollExt {
  add?: StreamSpec[];
  remove?: string[];
  restate?: StreamSpec[];
}

export interface Refusal {
  id: string;
  error: { code: string; message: string; retryable: boolean; details?: Record<string, unknown> };
}

export interface StreamTermination {
  reason: TerminationMessage['reason'];
  last: number;
  advice: Advice;
  error?: TerminationMessage['error'];
}

export interface StreamPart {
  id: string;
  gap?: { from: number; to: number };
  events: SspEvent[];
  termination?: StreamTermination;
}

// createAjv() holds every schema, the extensions' included (schemas/index.ts).
const schema = { $id: `${schemaBaseId}ext-multiplex.schema.json` };

let compiled: { open: ValidateFunction; poll: ValidateFunction } | undefined;

function validators(): { open: ValidateFunction; poll: ValidateFunction } {
  if (compiled) return compiled;
  const ajv = createAjv();
  compiled = {
    open: ajv.getSchema(`${schema.$id}#/$defs/Open`) as ValidateFunction,
    poll: ajv.getSchema(`${schema.$id}#/$defs/Poll`) as ValidateFunction,
  };
  return compiled;
}

/** `ext.multiplex` of an open or poll, checked against the schema; bad-request otherwise. */
export function readExt<K extends 'open' | 'poll'>(kind: K, ext: unknown): (K extends 'open' ? OpenExt : PollExt) | undefined {
  const value = (ext as Record<string, unknown> | undefined)?.[EXTENSION];
  if (value === undefined) return undefined;
  const validate = validators()[kind];
  if (validate(value)) return value as K extends 'open' ? OpenExt : PollExt;
  const errors = (validate.errors ?? []).map((error) => `/ext/multiplex${error.instancePath} ${error.message ?? error.keyword}`);
  throw new SspError('bad-request', `not a valid ${kind} ext.multiplex: ${errors.join('; ')}`, { details: { errors } });
}
