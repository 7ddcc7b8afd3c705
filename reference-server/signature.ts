// Session signatures (spec §8): `<payload>.<mac>`, both base64url. The payload is the
// compact JSON array [version, key id, session id, stream, params, position, expiresAt];
// the MAC is HMAC-SHA256 over the payload text, compared in constant time. Everything the
// server needs to resume a session lives in the signature, so a restart with the same
// secret can re-create a resumable session at the signed position. SSP-SECURITY-7: the key
// id names the signing key, so a server given [new, previous] secrets signs with the new one
// and still accepts unexpired signatures made under the previous ones.
//
// Cost per answer: the part that never changes in a session (everything but position and
// expiry) is padded with JSON whitespace to a multiple of 3 bytes and base64-encoded once per
// session, so each signature encodes only `position,expiresAt]` and runs one HMAC. The holder
// skips verification for the signature it issued last for a session (sessionIdOf, then the
// signature rebuilt from the session's prefix, position, expiry and kept MAC, compared in
// constant time): a poll with it costs no HMAC at all.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SspError } from './errors.ts';
import { HmacSha256 } from './hmac.ts';

const VERSION = 1;
/** spec §8: `^[A-Za-z0-9_.~-]{16,2048}$`. */
const SIGNATURE_SHAPE = /^[A-Za-z0-9_.~-]{16,2048}$/;
const MAC_LENGTH = 43; // base64url of 32 bytes, unpadded

export interface SignedState {
  sessionId: string;
  stream: string;
  params: Record<string, unknown>;
  position: number;
  expiresAt: number;
}

/** The part of a signature that never changes during a session, computed once per session. */
export interface SessionKey {
  readonly sessionId: string;
  readonly stream: string;
  readonly params: Record<string, unknown>;
  /** UTF-8 size of the prefix: `[version,"kid","sid","stream",params,`, with spaces before params to make a multiple of 3 bytes. */
  readonly bytes: number;
  /** base64url of the prefix (whole 3-byte groups, so base64 of the rest can be appended). */
  readonly prefix64: string;
}

/** Bytes of `[1,"<8-char key id>","<22-char session id>",`, the start of every payload. */
const ID_PREFIX_BYTES = 39;
/** base64url characters that encode exactly those 39 bytes. */
const ID_PREFIX_CHARS = 52;

/** One secret, or several newest first: sign with the first, verify with any (key rotation). */
export type Secrets = string | Buffer | ReadonlyArray<string | Buffer>;

export class Signer {
  /** Every accepted secret's MAC, by key id. */
  readonly #secrets = new Map<string, HmacSha256>();
  /** The signing key: the first secret. */
  readonly #keyId: string;
  readonly #secret: HmacSha256;

  constructor(secrets: Secrets) {
    const list = Array.isArray(secrets) ? secrets : [secrets as string | Buffer];
    if (list.length === 0) throw new RangeError('at least one secret is needed');
    for (const secret of list) {
      const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
      const id = keyId(bytes);
      if (this.#secrets.has(id)) throw new RangeError('the secrets must differ from each other');
      this.#secrets.set(id, new HmacSha256(bytes));
    }
    [[this.#keyId, this.#secret]] = this.#secrets;
  }

  /** Id of the key new signatures are made with (public: every signature carries it). */
  get signingKeyId(): string {
    return this.#keyId;
  }

  /** True when signatures made with key `id` are accepted (the signing key or a previous one). */
  accepts(id: string): boolean {
    return this.#secrets.has(id);
  }

  static randomSecret(): Buffer {
    return randomBytes(32);
  }

  key(sessionId: string, stream: string, params: Record<string, unknown>): SessionKey {
    const head = `[${VERSION},${JSON.stringify(this.#keyId)},${JSON.stringify(sessionId)},${JSON.stringify(stream)},`;
    const tail = `${canonicalJson(params)},`;
    // JSON whitespace before the params makes the byte length a multiple of 3.
    const prefix = `${head}${' '.repeat((3 - ((Buffer.byteLength(head) + Buffer.byteLength(tail)) % 3)) % 3)}${tail}`;
    const bytes = Buffer.from(prefix, 'utf8');
    return { sessionId, stream, params, bytes: bytes.length, prefix64: bytes.toString('base64url') };
  }

  sign(key: SessionKey, position: number, expiresAt: number): string {
    const payload = sessionPayload(key, position, expiresAt);
    return `${payload}.${this.#secret.base64url(payload)}`;
  }

  /**
   * sign(), with the MAC apart as a string of its own (not a slice, which would keep the
   * whole signature in memory): what a holder keeps to recognize the signature later.
   */
  signKeepingMac(key: SessionKey, position: number, expiresAt: number): [signature: string, mac: string] {
    const payload = sessionPayload(key, position, expiresAt);
    const macText = this.#secret.base64url(payload);
    return [`${payload}.${macText}`, macText];
  }

  /**
   * True when `signature` is exactly what sign(key, position, expiresAt) returned with MAC
   * `issuedMac`, compared in constant time: no decoding and no HMAC, and the holder keeps
   * only the 43-character MAC of a session's newest signature, not the whole signature.
   */
  isIssued(signature: string, key: SessionKey, position: number, expiresAt: number, issuedMac: string): boolean {
    // Compared piece by piece: the expected signature is never built (one string less per poll).
    const { prefix64 } = key;
    const tail = payloadTail(position, expiresAt);
    if (signature.length !== prefix64.length + tail.length + 1 + issuedMac.length) return false;
    let difference = signature.charCodeAt(prefix64.length + tail.length) ^ 0x2e;
    difference |= differenceAt(signature, 0, prefix64);
    difference |= differenceAt(signature, prefix64.length, tail);
    difference |= differenceAt(signature, prefix64.length + tail.length + 1, issuedMac);
    return difference === 0;
  }

  /**
   * Returns the signed state, or throws invalid-signature. Expiry is the caller's to check:
   * a remembered termination is answered even to an expired signature (SSP-SIGNATURE-10).
   */
  verify(signature: string): SignedState {
    return toState(this.unseal(signature));
  }

  /**
   * Signs any payload array whose second member is filled in with the signing key id here:
   * `[version, kid, …]`. Extensions (the multiplex signature) use it with their own version.
   */
  seal(version: number, rest: string): string {
    const payload = Buffer.from(`[${version},${JSON.stringify(this.#keyId)},${rest}]`, 'utf8').toString('base64url');
    return `${payload}.${this.#secret.base64url(payload)}`;
  }

  /** The verified payload array of any signature made by seal() or sign(), or invalid-signature. */
  unseal(signature: string): unknown[] {
    if (!SIGNATURE_SHAPE.test(signature)) throw invalid('signature is malformed');
    const dot = signature.indexOf('.');
    if (dot < 1 || dot !== signature.length - MAC_LENGTH - 1) throw invalid('signature is malformed or truncated');
    const payload = signature.slice(0, dot);
    const fields = decodePayload(payload);
    if (!Array.isArray(fields) || typeof fields[1] !== 'string') throw invalid('signature payload has the wrong shape');
    // The key id picks the secret to check the MAC with; an unknown one also says why it fails:
    // the usual cause is a restart without a fixed secret, or a retired one.
    const secret = this.#secrets.get(fields[1]);
    if (secret === undefined) {
      throw invalid('signature was made with another key (another server, a retired secret, or a restart without a fixed secret)');
    }
    // Compare the MAC's text, not its decoded bytes: lenient base64 decoding would accept
    // a last character altered in its unused bits.
    const given = Buffer.from(signature.slice(dot + 1), 'latin1');
    const expected = Buffer.from(secret.base64url(payload), 'latin1');
    if (!timingSafeEqual(given, expected)) throw invalid('signature MAC does not verify');
    return fields;
  }
}

/**
 * The session id a signature names, read from its first 52 characters without checking
 * anything: only for finding the session whose last issued signature it may be. `version`:
 * 1 for SSP/1 signatures, 2 for multiplexed sessions' (`[2,"kid","sid",…`, same layout).
 */
export function sessionIdOf(signature: string, version = VERSION): string | undefined {
  if (signature.length <= ID_PREFIX_CHARS + MAC_LENGTH) return undefined;
  // Decoded into a scratch buffer (no Buffer or string per poll but the id itself).
  const head = scratch;
  if (head.write(signature.slice(0, ID_PREFIX_CHARS), 0, ID_PREFIX_BYTES, 'base64url') !== ID_PREFIX_BYTES) return undefined;
  const quote = 0x22;
  if (head[0] !== 0x5b || head[1] !== 0x30 + version || head[2] !== 0x2c || head[3] !== quote || head[12] !== quote || head[14] !== quote || head[37] !== quote) return undefined;
  return head.toString('latin1', 15, 37);
}

/** Where sessionIdOf decodes and sessionPayload encodes (one at a time: both are synchronous). */
const scratch = Buffer.alloc(64);

/** Equality of two strings in time that depends only on their lengths (a signature is a bearer secret). */
export function sameSignature(a: string, b: string): boolean {
  return a.length === b.length && differenceAt(a, 0, b) === 0;
}

/** Non-zero when `part` differs from `text` at `offset`; time depends only on the lengths. */
function differenceAt(text: string, offset: number, part: string): number {
  let difference = 0;
  for (let i = 0; i < part.length; i++) difference |= text.charCodeAt(offset + i) ^ part.charCodeAt(i);
  return difference;
}

/** A session signature's payload: the session's encoded prefix, then `position,expiresAt]`. */
function sessionPayload(key: SessionKey, position: number, expiresAt: number): string {
  return key.prefix64 + payloadTail(position, expiresAt);
}

/** `position,expiresAt]` in base64url, which continues the prefix (padded to whole groups). */
function payloadTail(position: number, expiresAt: number): string {
  // ASCII digits: latin1 is UTF-8 here, and the cheapest encoding to write.
  const length = scratch.write(`${position},${expiresAt}]`, 0, 'latin1');
  return scratch.toString('base64url', 0, length);
}

/** Public and stable per secret; reveals nothing of it (SSP-SECURITY-3). */
function keyId(secret: Buffer): string {
  return createHash('sha256').update('xanjax-key-id').update(secret).digest('base64url').slice(0, 8);
}

function decodePayload(payload: string): unknown {
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function toState(fields: unknown): SignedState {
  if (!Array.isArray(fields) || fields.length !== 7) throw invalid('signature payload has the wrong shape');
  const [version, , sessionId, stream, params, position, expiresAt] = fields as unknown[];
  if (
    version !== VERSION ||
    typeof sessionId !== 'string' ||
    typeof stream !== 'string' ||
    typeof params !== 'object' ||
    params === null ||
    Array.isArray(params) ||
    !Number.isSafeInteger(position) ||
    (position as number) < 0 ||
    !Number.isSafeInteger(expiresAt)
  ) {
    throw invalid('signature payload has the wrong shape');
  }
  return { sessionId, stream, params: params as Record<string, unknown>, position: position as number, expiresAt: expiresAt as number };
}

export function invalid(message: string): SspError {
  return new SspError('invalid-signature', message);
}

/** JSON with object keys sorted at every level, so equal params always sign the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Largest session key (everything but position and expiry) whose signature stays within the
 * spec's 2048 characters: (1472 + 31 bytes) × 4/3 + '.' + 43-character MAC ≈ 2048.
 */
export const MAX_KEY_BYTES = 1400;
