// createValidator(): compiled once, readable errors (instancePath + message), and the
// by-type entry points report the actual problem instead of a oneOf summary.
import { describe, expect, it } from 'vitest';
import { createValidator, errorCodeInfo } from '../../schemas/index.ts';

const sig = 'abcdefghijklmnop';
const validator = createValidator();

describe('createValidator', () => {
  it('compiles once: later calls return the same validator', () => {
    expect(createValidator()).toBe(validator);
  });

  it('names the path and the broken rule', () => {
    const result = validator.validate('poll', { ssp: 1, type: 'poll', sig, hold: -1, extra: true });
    expect(result).toMatchObject({
      ok: false,
      errors: ["/ must NOT have additional properties: 'extra'", '/hold must be >= 0'],
    });
  });

  it('gives each problem as {path, message} too, the shape of details.errors', () => {
    expect(createValidator().validate('poll', { ssp: 1, type: 'poll', sig: 'abcdefghijklmnop', hold: -1, extra: 1 })).toEqual({
      ok: false,
      errors: ["/ must NOT have additional properties: 'extra'", '/hold must be >= 0'],
      problems: [
        { path: '', message: "must NOT have additional properties: 'extra'" },
        { path: '/hold', message: 'must be >= 0' },
      ],
    });
  });

  it('lists the allowed values of an enum and a const', () => {
    const termination = { ssp: 2, type: 'termination', sig, reason: 'finished', last: 0, advice: { action: 'none' } };
    expect(validator.validate('termination', termination)).toMatchObject({
      ok: false,
      errors: ['/ssp must be equal to constant: 1', '/reason must be equal to one of the allowed values: "complete", "closed", "expired", "error", "revoked", "shutdown"'],
    });
  });

  it('says a conditionally forbidden property must not be present', () => {
    const termination = { ssp: 1, type: 'termination', sig, reason: 'complete', last: 0, advice: { action: 'none' }, error: { message: 'x' } };
    expect(validator.validate('termination', termination)).toMatchObject({ ok: false, errors: ['/error must not be present here'] });
  });

  it('validateServerMessage picks the schema from `type`', () => {
    const batch = { ssp: 1, type: 'batch', sig, events: [{ seq: 0, data: null }] };
    expect(validator.validateServerMessage(batch)).toMatchObject({ ok: false, errors: ['/events/0/seq must be >= 1'] });
    // The union reports every branch; the by-type entry point only the relevant one.
    const union = validator.validate('server-message', batch);
    expect(union.ok === false && union.errors.length).toBeGreaterThan(1);
  });

  it('validateServerMessage rejects a non-object or an unknown type with one clear line', () => {
    expect(validator.validateServerMessage('batch')).toMatchObject({ ok: false, errors: ['/ must be object'] });
    expect(validator.validateServerMessage([])).toMatchObject({ ok: false, errors: ['/ must be object'] });
    expect(validator.validateServerMessage({ ssp: 1, type: 'open', stream: 'x' })).toMatchObject({
      ok: false,
      errors: ['/type must be one of "session", "batch", "termination", "error"'],
    });
  });

  it('validateClientMessage picks the schema from `type`', () => {
    expect(validator.validateClientMessage({ ssp: 1, type: 'close', sig: 7 })).toMatchObject({
      ok: false,
      errors: ['/sig must be string'],
    });
    expect(validator.validateClientMessage({ ssp: 1, type: 'batch' })).toMatchObject({
      ok: false,
      errors: ['/type must be one of "open", "poll", "close"'],
    });
  });

  it('checks formats (conformance report startedAt is a date-time)', () => {
    const report = {
      tool: { name: 'xanjax', version: '0.1.0' },
      endpoint: 'http://127.0.0.1:8080/ssp',
      startedAt: 'yesterday',
      durationMs: 1,
      strict: false,
      conforming: true,
      summary: { total: 0, pass: 0, fail: 0, warning: 0, note: 0, harnessError: 0, expectedFailure: 0, unexpectedPass: 0 },
      results: [],
    };
    expect(validator.validate('conformance-report', report)).toMatchObject({ ok: false, errors: ['/startedAt must match format "date-time"'] });
    expect(validator.validate('conformance-report', { ...report, startedAt: '2026-11-25T03:00:00.000Z' })).toMatchObject({ ok: true });
  });

  it('errorCodeInfo maps each code to its status', () => {
    expect(errorCodeInfo['invalid-signature'].status).toBe(403);
    expect(errorCodeInfo['too-many-sessions']).toMatchObject({ status: 503, retryable: true });
  });
});
