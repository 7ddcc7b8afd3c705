// Sessions' state in a file log's folder (DIR/state, segment files like the channels'):
// remembered terminations, live session records and the signing-key ids used. Loaded whole at start (it is small:
// one record per live session and per termination remembered), appended on every change,
// compacted when it has grown to several times what is live.
import type { SessionRecord, SessionStore, SigningKeyRecord, StreamRecord } from '../event-log/session-store.ts';
import { SegmentLog } from '../event-log/segment-file.ts';
import type { SegmentFs } from '../event-log/segment-file.ts';

type StateRecord =
  | { t: 'term'; id: string; body: string; until: number }
  /** `life`: how long the session may go unused (idle + hold); every signature of it expires within that. */
  | { t: 'open'; id: string; r: Stored; life: number }
  /** A signing key id, first and last recorded use. */
  | { t: 'key'; id: string; first: number; last: number };

/** A session's record: a plain session's, or a multiplexed session's streams (each update rewrites them whole). */
type Stored = SessionRecord | { streams: StreamRecord[] };

/** Compact once the file holds this many records and four times as many as are live. */
const COMPACT_MIN = 10_000;
/** Past COMPACT_MIN, every this many records the expired entries are forgotten and compaction is considered. */
const PRUNE_EVERY = 1000;

export class FileSessionStore implements SessionStore {
  readonly shared = false;
  readonly #log: SegmentLog;
  readonly #terminations = new Map<string, { body: string; until: number }>();
  readonly #sessions = new Map<string, { r: Stored; life: number; until: number }>();
  readonly #keys = new Map<string, SigningKeyRecord>();
  #key = 0;
  #written = 0;

  readonly #unavailable: (error: unknown) => Error;
  readonly #notice: (line: string) => void;

  /** `unavailable` turns a refused write into the error a request gets (503, retryable). */
  constructor(dir: string, unavailable: (error: unknown) => Error, options: { fs?: SegmentFs; notice?: (line: string) => void } = {}) {
    this.#unavailable = unavailable;
    this.#notice = options.notice ?? ((line) => console.error(line));
    const { log, records } = SegmentLog.open(dir, { ...options, segmentBytes: 1024 * 1024 });
    this.#log = log;
    const now = Date.now();
    for (const { key, json } of records) {
      this.#key = key;
      this.#apply(JSON.parse(json) as StateRecord, now);
    }
    this.#written = records.length;
  }

  termination(sessionId: string): string | undefined {
    const remembered = this.#terminations.get(sessionId);
    if (remembered && remembered.until <= Date.now()) this.#terminations.delete(sessionId);
    return this.#terminations.get(sessionId)?.body;
  }

  rememberTermination(sessionId: string, body: string, memoryMs: number): void {
    if (this.termination(sessionId) !== undefined) return;
    // Kept a little longer than asked: a client's clock starts after the server's.
    const until = Date.now() + memoryMs + 2000;
    this.#sessions.delete(sessionId);
    this.#terminations.set(sessionId, { body, until });
    try {
      this.#write({ t: 'term', id: sessionId, body, until });
    } catch (error) {
      // Remembered by this process; a restart before the disk recovers would not know it.
      this.#notice(`xanjax: file log: a termination could not be stored (${(error as Error).message}); it is remembered until a restart`);
    }
  }

  /** Throws `unavailable` when the disk refuses the record: the session is not opened. */
  saveSession(sessionId: string, record: Stored, lifetimeMs: number): void {
    try {
      this.#write({ t: 'open', id: sessionId, r: record, life: lifetimeMs });
    } catch (error) {
      throw this.#unavailable(error);
    }
    this.#sessions.set(sessionId, { r: record, life: lifetimeMs, until: Date.now() + lifetimeMs });
  }

  /** A record nobody used within its lifetime is gone: every signature of it has expired. */
  loadSession(sessionId: string): SessionRecord | undefined {
    const r = this.#load(sessionId);
    return r && 'stream' in r ? r : undefined;
  }

  /** One process owns the folder: the merge is the whole record, rewritten (throws `unavailable` like saveSession). */
  mergeStreams(sessionId: string, streams: readonly StreamRecord[], lifetimeMs: number): StreamRecord[] {
    const merged = [...(this.loadStreams(sessionId) ?? [])];
    for (const stream of streams) {
      const index = merged.findIndex((old) => old.id === stream.id);
      if (index < 0) merged.push(stream);
      else if (stream.termination && !merged[index]!.termination) merged[index] = { ...merged[index]!, termination: stream.termination };
    }
    this.saveSession(sessionId, { streams: merged }, lifetimeMs);
    return merged;
  }

  loadStreams(sessionId: string): StreamRecord[] | undefined {
    const r = this.#load(sessionId);
    return r && 'streams' in r ? r.streams : undefined;
  }

  #load(sessionId: string): Stored | undefined {
    const session = this.#sessions.get(sessionId);
    if (session && session.until <= Date.now()) this.#sessions.delete(sessionId);
    return this.#sessions.get(sessionId)?.r;
  }

  /** Kept in memory only: after a restart every record gets a full lifetime again (see #apply). */
  touchSession(sessionId: string, lifetimeMs: number): void {
    const session = this.#sessions.get(sessionId);
    if (session) session.until = Math.max(session.until, Date.now() + lifetimeMs);
  }

  sessionActive(): boolean {
    return false;
  }

  holding(): void {}

  onRemote(): void {}

  /** One process owns the folder, so it runs every producer. */
  claimProducer(_sessionId: string, start: () => void): void {
    start();
  }

  releaseProducer(): void {}

  signingKeys(): SigningKeyRecord[] {
    return [...this.#keys.values()].map((key) => ({ ...key }));
  }

  /** A refused write is reported, not thrown: the record is only advice for the next start. */
  recordSigningKey(id: string, at: number): void {
    const known = this.#keys.get(id);
    const record = { t: 'key', id, first: known?.firstSigned ?? at, last: Math.max(at, known?.lastSigned ?? at) } as const;
    this.#keys.set(id, { id, firstSigned: record.first, lastSigned: record.last });
    try {
      this.#write(record);
    } catch (error) {
      this.#notice(`xanjax: file log: the signing key id could not be recorded (${(error as Error).message})`);
    }
  }

  /** Live session records (for tests and stats). */
  get sessions(): number {
    return this.#sessions.size;
  }

  /** Bytes of the state files on disk. */
  get bytes(): number {
    return this.#log.bytes;
  }

  syncInBackground(onError: (error: Error) => void): void {
    this.#log.syncInBackground(onError);
  }

  close(): void {
    this.#log.close();
  }

  #write(record: StateRecord): void {
    this.#log.append(++this.#key, JSON.stringify(record));
    this.#written++;
    if (this.#written < COMPACT_MIN || this.#written % PRUNE_EVERY !== 0) return;
    // Expired terminations and records are only dropped when looked up; count what is live.
    this.#prune(Date.now());
    if (this.#written > 4 * (this.#sessions.size + this.#terminations.size)) this.#compact();
  }

  #prune(now: number): void {
    for (const [id, { until }] of this.#sessions) if (until <= now) this.#sessions.delete(id);
    for (const [id, { until }] of this.#terminations) if (until <= now) this.#terminations.delete(id);
  }

  /** Rewrites what is live after the current records, then drops the older segments. */
  #compact(): void {
    const now = Date.now();
    const from = this.#key + 1;
    this.#written = 0;
    for (const [id, { r, life, until }] of this.#sessions) {
      if (until > now) this.#append({ t: 'open', id, r, life });
      else this.#sessions.delete(id);
    }
    for (const [id, { body, until }] of this.#terminations) {
      if (until > now) this.#append({ t: 'term', id, body, until });
      else this.#terminations.delete(id);
    }
    for (const { id, firstSigned, lastSigned } of this.#keys.values()) this.#append({ t: 'key', id, first: firstSigned, last: lastSigned });
    this.#log.dropBefore(from);
  }

  #append(record: StateRecord): void {
    this.#log.append(++this.#key, JSON.stringify(record));
    this.#written++;
  }

  #apply(record: StateRecord, now: number): void {
    // A signature issued before the restart expires within `life` of its last use, which was
    // before now: a full lifetime from now covers every signature still valid.
    if (record.t === 'open') this.#sessions.set(record.id, { r: record.r, life: record.life, until: now + record.life });
    else if (record.t === 'key') this.#keys.set(record.id, { id: record.id, firstSigned: record.first, lastSigned: record.last });
    else {
      this.#sessions.delete(record.id);
      if (record.until > now) this.#terminations.set(record.id, { body: record.body, until: record.until });
    }
  }
}
