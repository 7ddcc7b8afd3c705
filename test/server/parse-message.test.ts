// The endpoint's message parse: the common poll text, recognized without the general parse,
// yields exactly the object the general parse would, and near misses take the general path.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { parse } from '../../reference-server/holder/endpoint.ts';
import { createValidator } from '../../schemas/index.ts';

const validator = createValidator();
const sigChars = fc.constantFrom(...'ABCXYZabcxyz0189_.~-');
const sig = fc.string({ unit: sigChars, maxLength: 200 });
const hold = fc.option(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })), { nil: undefined });

it('a common poll text parses to what JSON.parse gives', () => {
  fc.assert(
    fc.property(sig, hold, (s, h) => {
      const text = h === undefined ? `{"ssp":1,"type":"poll","sig":"${s}"}` : `{"ssp":1,"type":"poll","sig":"${s}","hold":${h}}`;
      expect(parse(text, validator)).toStrictEqual(JSON.parse(text));
    }),
  );
});

it('any poll text JSON.stringify writes, with or without hold and ext, parses to the same object', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), hold, fc.boolean(), (s, h, ext) => {
      const message = { ssp: 1, type: 'poll', sig: s, ...(h !== undefined && { hold: h }), ...(ext && { ext: { 'com.example.x': 1 } }) };
      expect(parse(JSON.stringify(message), validator)).toStrictEqual(message);
    }),
  );
});
