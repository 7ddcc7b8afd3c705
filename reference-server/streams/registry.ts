// Streams by name, with their params validators compiled once at registration.
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import type { StreamInfo } from '../../schemas/types.gen.ts';
import { SspError } from '../errors.ts';
import type { StreamDefinition } from './types.ts';

/** spec §6. */
const STREAM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class RegisteredStream {
  /** Producers running now (for maxConcurrent). */
  active = 0;

  constructor(
    readonly name: string,
    readonly definition: StreamDefinition,
    readonly validate: ValidateFunction,
  ) {}

  get resumable(): boolean {
    return this.definition.resumable ?? false;
  }

  /** Validates (and fills defaults into) params, or throws invalid-params with details.errors. */
  checkParams(params: Record<string, unknown>): Record<string, unknown> {
    if (this.validate(params)) return params;
    throw new SspError('invalid-params', `params do not match the params schema of stream '${this.name}'`, {
      details: { errors: describe(this.validate.errors) },
    });
  }

  info(): StreamInfo {
    return {
      name: this.name,
      description: this.definition.description,
      resumable: this.resumable,
      params: this.definition.params,
    };
  }
}

export class StreamRegistry {
  readonly #streams = new Map<string, RegisteredStream>();
  // Stream params schemas come from users, so unknown keywords are allowed (strict: false);
  // useDefaults hands producers complete params.
  readonly #ajv = new Ajv2020({ allErrors: true, useDefaults: true, strict: false });

  constructor() {
    ajvFormats.default(this.#ajv);
  }

  register(name: string, definition: StreamDefinition): void {
    if (!STREAM_NAME.test(name)) throw new TypeError(`stream name '${name}' does not match ${STREAM_NAME}`);
    if (this.#streams.has(name)) throw new TypeError(`stream '${name}' is already registered`);
    this.#streams.set(name, new RegisteredStream(name, definition, this.#ajv.compile(definition.params)));
  }

  get(name: string): RegisteredStream | undefined {
    return this.#streams.get(name);
  }

  list(): StreamInfo[] {
    return [...this.#streams.values()].map((stream) => stream.info());
  }
}

function describe(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((error) => {
    const extra =
      error.keyword === 'additionalProperties' ? `: '${String((error.params as { additionalProperty: string }).additionalProperty)}'` : '';
    return `${error.instancePath || '/'} ${error.message ?? error.keyword}${extra}`;
  });
}
