// The one-shot HMAC-SHA256 the signer uses must equal createHmac's for every key length (short,
// one block, longer than a block: RFC 2104 hashes it first) and any ASCII text, including
// texts longer than its scratch buffer, and stay right when one key signs many texts in turn.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HmacSha256 } from '../../reference-server/hmac.ts';

const reference = (key: Uint8Array, text: string) => createHmac('sha256', key).update(text, 'latin1').digest('base64url');
const ascii = fc.string({ unit: fc.integer({ min: 0, max: 127 }).map((c) => String.fromCharCode(c)), maxLength: 700 });

describe('HmacSha256', () => {
  it("equals createHmac's MAC for any key and ASCII text", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.array(ascii, { minLength: 1, maxLength: 5 }), (key, texts) => {
        const mac = new HmacSha256(Buffer.from(key));
        for (const text of texts) expect(mac.base64url(text)).toBe(reference(key, text));
      }),
      { numRuns: 300 },
    );
  });

  it('matches RFC 4231 test case 2 (key "Jefe")', () => {
    const mac = new HmacSha256(Buffer.from('Jefe'));
    const hex = Buffer.from(mac.base64url('what do ya want for nothing?'), 'base64url').toString('hex');
    expect(hex).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('signs a text longer than its buffer, then a short one, with the same key', () => {
    const key = Buffer.alloc(64, 9);
    const mac = new HmacSha256(key);
    const long = 'x'.repeat(5000);
    expect(mac.base64url(long)).toBe(reference(key, long));
    expect(mac.base64url('short')).toBe(reference(key, 'short'));
  });
});
