// Signing-key ids kept in a durable log (issue 10 §1), so that key rotation survives restarts:
// each server records the id of the key it signs with, at start and every KEY_RECORD_PERIOD_MS,
// and at start reads what earlier runs (or other instances) recorded. It then tells the
// operator what a rotation still needs: a previous secret that must stay (signatures made
// with it are still valid), one that can go (all of them expired), and a key this server no
// longer accepts although sessions signed with it may still be polled (their clients will
// have to open new sessions). Ids only: a key id reveals nothing of its secret (SSP-SECURITY-3).
import type { SessionStore, SigningKeyRecord } from '../event-log/session-store.ts';
import { isPromise } from '../event-log/types.ts';

/** How often a server records that it still signs with its key. */
export const KEY_RECORD_PERIOD_MS = 60_000;

export interface KeyOwner {
  readonly signingKeyId: string;
  accepts(id: string): boolean;
}

/** What an earlier key means for this start, one line for the operator (undefined: nothing to say). */
export function keyAdvice(key: SigningKeyRecord, signer: KeyOwner, signatureLifetimeMs: number, now: number): string | undefined {
  if (key.id === signer.signingKeyId) return undefined;
  // A signature lives signatureLifetimeMs from its issue, which was at most one period after the last record.
  const validUntil = key.lastSigned + KEY_RECORD_PERIOD_MS + signatureLifetimeMs;
  const until = new Date(validUntil).toISOString();
  if (signer.accepts(key.id)) {
    return validUntil > now
      ? `xanjax: signing keys: the previous secret with key id ${key.id} is needed until ${until} (signatures made with it may be used until then)`
      : `xanjax: signing keys: the previous secret with key id ${key.id} is no longer needed (every signature made with it expired by ${until}); drop it`;
  }
  if (validUntil <= now) return undefined;
  return (
    `xanjax: signing keys: sessions in this log were signed with key id ${key.id} until ${new Date(key.lastSigned).toISOString()}, ` +
    `which this server does not accept: their clients must open new sessions (to let them resume, restart with --secret NEW --previous-secret OLD)`
  );
}

export interface KeyTracker {
  /** Records the key once more and stops the periodic record. */
  stop(): Promise<void>;
}

/** Reads the recorded keys (advice to `notice`), records ours, and keeps recording it until stop(). */
export function trackSigningKeys(store: SessionStore, signer: KeyOwner, signatureLifetimeMs: number, notice: (line: string) => void): KeyTracker {
  const record = async () => {
    const recorded = store.recordSigningKey(signer.signingKeyId, Date.now());
    if (isPromise(recorded)) await recorded;
  };
  const report = (error: unknown) => notice(`xanjax: signing keys: could not use the event log's key records: ${(error as Error).message}`);
  const started = (async () => {
    const found = store.signingKeys();
    const keys = isPromise(found) ? await found : found;
    const now = Date.now();
    for (const key of keys) {
      const advice = keyAdvice(key, signer, signatureLifetimeMs, now);
      if (advice) notice(advice);
    }
    await record();
  })().catch(report);
  const timer = setInterval(() => void record().catch(report), KEY_RECORD_PERIOD_MS);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await started;
      await record().catch(report);
    },
  };
}
