// HMAC-SHA256 (RFC 2104) of a signature payload, as base64url: H((K ^ opad) || H((K ^ ipad) || m)),
// from two one-shot crypto.hash() calls over buffers prepared once per secret. createHmac()
// builds a native Hmac object per call, which the garbage collector must then finalize: one
// per answer, ten thousand per broadcast at N = 10,000. Measured on this project's machine:
// about 1.3 µs of CPU per MAC instead of 2.5-3.6 µs (GC included). Identical output to
// createHmac('sha256', secret).update(payload).digest('base64url') (test/server/hmac.test.ts).
import { createHash, createHmac, hash } from 'node:crypto';

const BLOCK = 64;
/** Longest payload hashed from the prepared buffer; a signature is at most 2048 characters. */
const MAX_PAYLOAD = 4096;

export class HmacKey {
  readonly #secret: Buffer;
  /** K ^ ipad, then room for the payload. */
  readonly #inner = Buffer.alloc(BLOCK + MAX_PAYLOAD);
  /** K ^ opad, then the inner digest. */
  readonly #outer = Buffer.alloc(BLOCK + 32);

  constructor(secret: Buffer) {
    this.#secret = secret;
    // RFC 2104 §2: a key longer than the block is hashed first; a shorter one is zero-padded.
    const key = secret.length > BLOCK ? createHash('sha256').update(secret).digest() : secret;
    for (let i = 0; i < BLOCK; i++) {
      const byte = i < key.length ? key[i] : 0;
      this.#inner[i] = byte ^ 0x36;
      this.#outer[i] = byte ^ 0x5c;
    }
  }

  /**
   * The MAC of `payload`, which must be ASCII (base64url text: what sign() and seal() make, and
   * what unseal() admits after its shape check), so that its latin1 bytes are its UTF-8 bytes.
   */
  digest(payload: string): string {
    if (payload.length > MAX_PAYLOAD) return createHmac('sha256', this.#secret).update(payload).digest('base64url');
    const length = this.#inner.write(payload, BLOCK, 'latin1');
    // 'binary' is latin1: the 32 digest bytes as one character each, written back as bytes.
    this.#outer.write(hash('sha256', this.#inner.subarray(0, BLOCK + length), 'binary'), BLOCK, 'latin1');
    return hash('sha256', this.#outer, 'base64url');
  }
}
