// fast-check arbitraries for hostile SSP/1 requests, generated from the JSON Schemas and the
// vectors: schema-valid client messages with edge values, each schema constraint violated,
// the vectors, raw JSON text edges (duplicate keys, `1.0`, lone surrogates, deep nesting),
// byte garbage, truncated bodies, wrong content types and methods.
import fc from 'fast-check';
import { defsSchema, schemas } from '../../schemas/index.ts';
import type { JsonSchema } from '../../schemas/index.ts';
import clientVectors from '../../schemas/vectors/client-message.json' with { type: 'json' };
import closeVectors from '../../schemas/vectors/close.json' with { type: 'json' };
import openVectors from '../../schemas/vectors/open.json' with { type: 'json' };
import pollVectors from '../../schemas/vectors/poll.json' with { type: 'json' };

/** Where a live signature of the fuzz run goes; replaced when the request is sent. */
export const SIG = '\u0000sig\u0000';

export type SigMutation = 'as-is' | 'flip' | 'truncate' | 'extend';

export interface FuzzRequest {
  /** What generated it, for the statistics. */
  kind: string;
  method: string;
  target: string;
  headers: Array<[string, string]>;
  /** Body text or bytes; SIG inside is replaced by a live signature (mutated as said). */
  body: string | Uint8Array | undefined;
  sig: { pick: number; mutation: SigMutation };
  /** How the body is framed: Content-Length, chunked, or Content-Length then only part of it. */
  framing: 'length' | 'chunked' | 'truncated';
  /** Split points for chunked framing and how far a truncated body gets (fractions). */
  cut: number;
}

type Schema = Record<string, unknown>;

function resolve(schema: Schema): Schema {
  const ref = schema.$ref as string | undefined;
  if (ref === undefined) return schema;
  const name = ref.split('/').at(-1) as string;
  return resolve((defsSchema.$defs as Record<string, Schema>)[name]);
}

/** Strings at the edges: empty, long, every kind of Unicode including lone surrogates. */
const edgyString = fc.oneof(
  fc.constant(''),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('\uD800', '\uDFFF', '\u0000', '\u202E', '\uFEFF', 'é', '😀', '"', '\\'), maxLength: 20 }),
  fc.integer({ min: 1000, max: 20_000 }).map((n) => 'x'.repeat(n)),
);

/** Numbers at and beyond the limits an implementation may trip on. */
const edgyNumber = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, -Number.MAX_SAFE_INTEGER, 1e308, 5e-324, 0.5),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value, deep or wide. */
const anyJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, edgyString, edgyNumber, fc.boolean(), fc.constant(null), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(edgyString, tie('value'), { maxKeys: 5 }),
})).value;

/** A value the (resolved) schema accepts, with edge values where the schema leaves room. */
function valid(schemaIn: Schema): fc.Arbitrary<unknown> {
  const schema = resolve(schemaIn);
  if ('const' in schema) return fc.constant(schema.const);
  switch (schema.type) {
    case 'string':
      return typeof schema.pattern === 'string' ? fc.stringMatching(new RegExp(schema.pattern as string)) : edgyString;
    case 'integer': {
      const min = (schema.minimum as number | undefined) ?? Number.MIN_SAFE_INTEGER;
      return fc.oneof(fc.constantFrom(min, min + 1), fc.integer({ min: Math.max(min, -(2 ** 31)), max: 2 ** 31 }), fc.constant(Number.MAX_SAFE_INTEGER));
    }
    case 'object':
      return schema.properties ? objectOf(schema) : fc.dictionary(edgyString, anyJson, { maxKeys: 6 });
    default:
      return anyJson;
  }
}

function objectOf(schema: Schema): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties as Record<string, Schema>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const record = Object.fromEntries(Object.entries(properties).map(([name, sub]) => [name, valid(sub)]));
  return fc.record(record, { requiredKeys: [...required] }) as fc.Arbitrary<Record<string, unknown>>;
}

/** Values that break the (resolved) schema: the wrong type, below the minimum, off the pattern. */
function violating(schemaIn: Schema): fc.Arbitrary<unknown> {
  const schema = resolve(schemaIn);
  const wrongType = fc.oneof(fc.constant(null), fc.boolean(), fc.constant([]), fc.constant({}), edgyNumber, edgyString);
  const options: Array<fc.Arbitrary<unknown>> = [];
  if ('const' in schema) options.push(wrongType.filter((v) => v !== schema.const), fc.constantFrom(1.5, '1', 2, 0));
  if (schema.type === 'integer') options.push(fc.constantFrom(0.5, -1e-9, '3', 2.5e-7), ...(typeof schema.minimum === 'number' ? [fc.constant((schema.minimum as number) - 1)] : []));
  if (schema.type === 'string') {
    options.push(fc.oneof(edgyNumber, fc.constant(null), fc.constant(['a'])));
    if (typeof schema.pattern === 'string') options.push(edgyString.filter((s) => !new RegExp(schema.pattern as string).test(s)));
  }
  if (schema.type === 'object') options.push(fc.oneof(fc.constant([]), edgyString, fc.constant(null)));
  return options.length > 0 ? fc.oneof(...options) : wrongType;
}

/** One message schema, each of its constraints violated in turn (one at a time). */
function violationsOf(schema: JsonSchema): fc.Arbitrary<unknown> {
  const properties = schema.properties as Record<string, Schema>;
  const base = objectOf(schema as Schema);
  const required = (schema.required as string[]) ?? [];
  return fc.oneof(
    // A property with a value that breaks its schema.
    fc.tuple(base, fc.constantFrom(...Object.keys(properties))).chain(([message, name]) =>
      violating(properties[name]).map((bad) => ({ ...message, [name]: bad })),
    ),
    // A required property missing.
    fc.tuple(base, fc.constantFrom(...required)).map(([message, name]) => {
      const copy = { ...message };
      delete copy[name];
      return copy;
    }),
    // An unknown property (additionalProperties: false).
    fc.tuple(base, fc.string({ minLength: 1, maxLength: 10 }).filter((k) => !(k in properties))).map(([message, key]) => ({ ...message, [key]: 1 })),
  );
}

const clientKinds = ['open', 'poll', 'close'] as const;
const vectors = [...clientVectors, ...openVectors, ...pollVectors, ...closeVectors].map((vector) => vector.data);

/** A live session's signature in place of the generated one, for poll and close. */
function withLiveSig(message: unknown): unknown {
  if (typeof message === 'object' && message !== null && !Array.isArray(message) && 'sig' in message) return { ...message, sig: SIG };
  return message;
}

/** JSON text edges no JSON.stringify produces. */
const rawJsonEdges = fc.oneof(
  fc.constant(`{"ssp":1.0,"type":"open","stream":"ssp.counter","params":{"count":1}}`),
  fc.constant(`{"ssp":1,"type":"open","type":"close","stream":"ssp.counter","sig":"${SIG}"}`),
  fc.constant(`{"ssp":1,"type":"poll","sig":"${SIG}","hold":1e2}`),
  fc.constant(`{"ssp":1,"type":"poll","sig":"${SIG}","hold":9007199254740993}`),
  fc.constant(`\uFEFF{"ssp":1,"type":"open","stream":"ssp.counter","params":{"count":1}}`),
  fc.constant(`{"ssp":1,"type":"open","stream":"ssp.counter","params":{"count":NaN}}`),
  fc.constant(`{"ssp":1,"type":"open","stream":"\\ud800","params":{}}`),
  fc.integer({ min: 1, max: 5000 }).map((depth) => `{"ssp":1,"type":"open","stream":"ssp.counter","params":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`),
  fc.integer({ min: 1, max: 5000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
);

const annexOpen = fc.oneof(
  fc.record({ ssp: fc.constant(1), type: fc.constant('open'), stream: fc.constantFrom('ssp.counter', 'ssp.burst'), params: fc.record({ count: fc.integer({ min: 1, max: 20 }), size: fc.integer({ min: 0, max: 300 }) }) }),
  fc.record({ ssp: fc.constant(1), type: fc.constant('open'), stream: fc.constantFrom('ssp.counter', 'ssp.burst', 'ssp.ticker', 'ssp.fail'), params: fc.dictionary(edgyString, anyJson, { maxKeys: 3 }) }),
);

/** A client message body: what the generators above make, as JSON text. */
const messageBody: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.constantFrom(...clientKinds).chain((kind) => objectOf(schemas[kind] as Schema).map((m) => [`valid ${kind}`, JSON.stringify(withLiveSig(m))] as [string, string])),
  fc.constantFrom(...clientKinds).chain((kind) => violationsOf(schemas[kind]).map((m) => [`violating ${kind}`, JSON.stringify(withLiveSig(m)) ?? 'null'] as [string, string])),
  fc.constantFrom(...vectors).map((m) => ['vector', JSON.stringify(withLiveSig(m))] as [string, string]),
  annexOpen.map((m) => ['annex open', JSON.stringify(m)] as [string, string]),
  fc.constantFrom(...clientKinds).map((kind) => [`live ${kind}`, JSON.stringify({ ssp: 1, type: kind, ...(kind === 'open' ? { stream: 'ssp.counter', params: { count: 2 } } : { sig: SIG }), ...(kind === 'poll' ? { hold: 0 } : {}) })] as [string, string]),
  rawJsonEdges.map((text) => ['raw JSON edge', text] as [string, string]),
  anyJson.map((value) => ['any JSON', JSON.stringify(value) ?? 'null'] as [string, string]),
);

const goodType = fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8', 'text/plain;charset=UTF-8');
const badType = fc.oneof(
  fc.constantFrom('application/xml', 'text/html', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', '', ';', 'application/json; charset', 'application/json;;;', 'text/plain; charset="utf-8'),
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
);
const method = fc.oneof(
  { weight: 8, arbitrary: fc.constant('POST') },
  { weight: 2, arbitrary: fc.constantFrom('GET', 'OPTIONS', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'CONNECT', 'TRACE') },
  { weight: 1, arbitrary: fc.constantFrom('FOO', 'get', 'post', 'P0ST', 'BREW', 'M-SEARCH') },
);
const target = fc.oneof({ weight: 10, arbitrary: fc.constant('/ssp') }, { weight: 1, arbitrary: fc.constantFrom('/ssp?x=1', '/ssp#f', 'http://127.0.0.1/ssp', '/ssp/', '/SSP', '*', '/%73sp') });

/** The whole hostile request. */
export const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc
  .record({
    method,
    target,
    contentType: fc.oneof({ weight: 6, arbitrary: goodType }, { weight: 1, arbitrary: badType }, { weight: 1, arbitrary: fc.constant(undefined) }),
    body: fc.oneof(
      { weight: 10, arbitrary: messageBody },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2000 }).map((bytes) => ['byte garbage', bytes] as [string, Uint8Array]) },
      { weight: 1, arbitrary: fc.constant(['no body', undefined] as [string, undefined]) },
    ),
    extraHeaders: fc.array(
      fc.oneof(
        { weight: 20, arbitrary: fc.tuple(fc.constantFrom('Origin', 'X-Forwarded-For', 'Expect', 'Accept', 'Access-Control-Request-Headers'), fc.string({ unit: 'grapheme-ascii', maxLength: 30 })) },
        // Beyond the parser's header limit (16 KiB): headers-too-large.
        { weight: 1, arbitrary: fc.integer({ min: 8_000, max: 40_000 }).map((n) => ['X-Pad', 'p'.repeat(n)] as [string, string]) },
      ),
      { maxLength: 2 },
    ),
    sig: fc.record({ pick: fc.nat(), mutation: fc.constantFrom<SigMutation>('as-is', 'as-is', 'flip', 'truncate', 'extend') }),
    framing: fc.oneof({ weight: 8, arbitrary: fc.constant('length' as const) }, { weight: 1, arbitrary: fc.constant('chunked' as const) }, { weight: 1, arbitrary: fc.constant('truncated' as const) }),
    cut: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ method, target, contentType, body: labelled, extraHeaders, sig, framing, cut }) => {
    const [kind, body] = labelled as [string, string | Uint8Array | undefined];
    return {
    kind: framing === 'truncated' ? `truncated ${kind}` : kind,
    method,
    target,
    headers: [...(contentType === undefined ? [] : [['Content-Type', contentType] as [string, string]]), ...extraHeaders.map(([name, value]) => [name, value.replace(/[\r\n]/g, '')] as [string, string])],
    body,
    sig,
    framing,
    cut,
  };
  });
