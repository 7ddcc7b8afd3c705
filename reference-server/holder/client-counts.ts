// Session admission shared by plain and multiplexed sessions: the overall session limit and
// the per-client one (SSP-SECURITY-6: one client cannot take every session), and each
// client's count of live sessions.
import { SspError } from '../errors.ts';

export interface AdmissionLimits {
  maxSessions: number;
  maxSessionsPerClient: number;
  /** retryAfterMs of too-many-sessions. */
  retryAfterMs: number;
}

export class ClientCounts {
  readonly #limits: AdmissionLimits;
  /** Live sessions per client key; a key leaves the map with its last session. */
  readonly #perClient = new Map<string, number>();

  constructor(limits: AdmissionLimits) {
    this.#limits = limits;
  }

  /** Clients with at least one live session. */
  get clients(): number {
    return this.#perClient.size;
  }

  /**
   * Counts one more session of `client`, or throws `too-many-sessions` when `live` sessions
   * (those counted against maxSessions now) or the client's own reach their limit.
   */
  admit(client: string, live: number): void {
    const { maxSessions, maxSessionsPerClient, retryAfterMs } = this.#limits;
    if (live >= maxSessions) throw new SspError('too-many-sessions', `session limit (${maxSessions}) reached`, { retryAfterMs });
    const clientSessions = this.#perClient.get(client) ?? 0;
    if (clientSessions >= maxSessionsPerClient) {
      throw new SspError('too-many-sessions', `session limit per client (${maxSessionsPerClient}) reached`, { retryAfterMs });
    }
    this.#perClient.set(client, clientSessions + 1);
  }

  /** One session of `client` ended, or was not made after all. */
  release(client: string): void {
    const clientSessions = (this.#perClient.get(client) ?? 1) - 1;
    if (clientSessions > 0) this.#perClient.set(client, clientSessions);
    else this.#perClient.delete(client);
  }

  clear(): void {
    this.#perClient.clear();
  }
}
