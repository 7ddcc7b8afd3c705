// The multiplexed session's signature (spec §23.6): `[2, kid, sid, digest, {id: position…},
// expiresAt]`, sealed with the server's key like an SSP/1 signature. It stays small whatever
// the params: the streams' names and params live in the session record, and the signature
// carries only a digest of them, which lets a server that lost the record (a restart, another
// instance) re-create the session from a poll that restates its streams (§23.7).
import { createHash } from 'node:crypto';
import { SspError } from '../errors.ts';
import { canonicalJson, invalid } from '../signature.ts';
import type { Signer } from '../signature.ts';
import type { StreamSpec } from './wire.ts';

export const VERSION = 2;

export interface MuxState {
  sessionId: string;
  digest: string;
  /** Position of each stream the client holds, by stream id. */
  positions: Map<string, number>;
  expiresAt: number;
}

/** A multiplexed session's signature starts with the base64url of `[2,`. */
export function isMuxSignature(signature: string): boolean {
  return signature.startsWith('WzIs');
}

/** The digest binds ids, stream names and params of the streams a signature names. */
export function digestOf(specs: Iterable<StreamSpec>): string {
  const sorted = [...specs].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((s) => [s.id, s.stream, s.params ?? {}]);
  return createHash('sha256').update(canonicalJson(sorted)).digest('base64url').slice(0, 22);
}

export function signMux(signer: Signer, sessionId: string, digest: string, positions: ReadonlyMap<string, number>, expiresAt: number): string {
  let map = '{';
  for (const [id, position] of positions) map += `${map.length > 1 ? ',' : ''}${JSON.stringify(id)}:${position}`;
  return signer.seal(VERSION, `${JSON.stringify(sessionId)},${JSON.stringify(digest)},${map}},${expiresAt}`);
}

export function verifyMux(signer: Signer, signature: string): MuxState {
  const fields = signer.unseal(signature);
  const [version, , sessionId, digest, positions, expiresAt] = fields;
  if (
    fields.length !== 6 ||
    version !== VERSION ||
    typeof sessionId !== 'string' ||
    typeof digest !== 'string' ||
    typeof positions !== 'object' ||
    positions === null ||
    Array.isArray(positions) ||
    !Number.isSafeInteger(expiresAt)
  ) {
    throw invalid('signature payload has the wrong shape');
  }
  const map = new Map<string, number>();
  for (const [id, position] of Object.entries(positions)) {
    if (!Number.isSafeInteger(position) || (position as number) < 0) throw invalid('signature payload has the wrong shape');
    map.set(id, position as number);
  }
  return { sessionId, digest, positions: map, expiresAt: expiresAt as number };
}

/** §4: expiry is checked after remembered terminations. */
export function assertUnexpired(state: MuxState): void {
  if (state.expiresAt <= Date.now()) throw new SspError('session-expired', 'signature has expired; open a new session');
}
