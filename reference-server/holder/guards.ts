// Why a signature that verified is still refused (§4, §8.4, SSP-SIGNATURE-14): it expired, it
// names a session this process no longer knows and cannot re-create, or it is from before a
// restart that forgot the terminations.
import { SspError } from '../errors.ts';
import type { SignedState } from '../signature.ts';

/** §4: expiry = issue time + idleTimeoutMs + maxHoldMs; checked after remembered terminations. */
export function assertUnexpired(state: SignedState): void {
  if (state.expiresAt <= Date.now()) throw new SspError('session-expired', 'signature has expired; open a new session');
}

export function forgotten(): SspError {
  return new SspError('session-expired', 'session is no longer known (expired, closed or from before a restart); open a new session');
}

/**
 * SSP-SIGNATURE-14, memory log with a fixed key (`restartGuard`): a session this process does
 * not know may have been closed, completed or expired before the restart, and its termination
 * is gone. Until every signature from before the start has expired, say so rather than
 * re-create it; the wait asked is at most `retryMs`.
 */
export function assertNotGuarded(state: SignedState, restartGuard: boolean, retryMs: number): void {
  const remaining = state.expiresAt - Date.now();
  if (restartGuard && remaining > 0) {
    throw new SspError('unavailable', 'server restarted: sessions from before the restart cannot be resumed yet', {
      retryAfterMs: Math.min(remaining, retryMs),
    });
  }
}
