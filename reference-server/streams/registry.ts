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
    const errors = describe(this.validate.errors);
    const problems = errors.map(({ path, message }) => `${path || '(params)'} ${message}`).join('; ');
    throw new SspError('invalid-params', `params of stream '${this.name}': ${problems}`, { details: { errors } });
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
    if ((definition.produce === undefined) === (definition.topic === undefined)) {
      throw new TypeError(`stream '${name}' needs exactly one of produce and topic`);
    }
    // A topic session starts at the topic's head, which its signature does not carry.
    if (definition.topic !== undefined && definition.resumable) throw new TypeError(`topic stream '${name}' cannot be resumable`);
    this.#streams.set(name, new RegisteredStream(name, definition, this.#ajv.compile(definition.params)));
  }

  get(name: string): RegisteredStream | undefined {
    return this.#streams.get(name);
  }

  list(): StreamInfo[] {
    return [...this.#streams.values()].map((stream) => stream.info());
  }
}

/**
 * SSP-OPEN-11: `{path, message}` per problem, `path` a JSON Pointer into params — for a
 * missing or unknown parameter, the pointer to that parameter.
 */
function describe(errors: ErrorObject[] | null | undefined): Array<{ path: string; message: string }> {
  return (errors ?? []).map((error) => {
    const { missingProperty, additionalProperty } = error.params as { missingProperty?: string; additionalProperty?: string };
    const name = missingProperty ?? additionalProperty;
    const path = name === undefined ? error.instancePath : `${error.instancePath}/${escapePointer(name)}`;
    const message = additionalProperty === undefined ? (error.message ?? error.keyword) : 'is not a parameter of this stream';
    return { path, message };
  });
}

function escapePointer(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}
