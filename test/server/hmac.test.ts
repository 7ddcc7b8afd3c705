// The one-shot HMAC-SHA256 of signature payloads equals node:crypto's createHmac for every
// secret length (shorter than, equal to and longer than the 64-byte block) and payload length
// (including past the prepared buffer, where it falls back to createHmac).
import { createHmac, randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { HmacKey } from '../../reference-server/hmac.ts';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~';

it.each([0, 1, 32, 63, 64, 65, 200])('matches createHmac with a %i-byte secret', (secretBytes) => {
  const secret = randomBytes(secretBytes);
  const key = new HmacKey(secret);
  for (const length of [0, 1, 55, 56, 64, 150, 2048, 4096, 4097, 9000]) {
    const payload = Array.from({ length }, (_, i) => BASE64URL[(i * 7 + length) % BASE64URL.length]).join('');
    expect(key.digest(payload)).toBe(createHmac('sha256', secret).update(payload).digest('base64url'));
  }
  // The prepared buffers are reused: a shorter payload after a longer one is not polluted.
  expect(key.digest('abc')).toBe(createHmac('sha256', secret).update('abc').digest('base64url'));
});
