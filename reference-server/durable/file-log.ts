// The file log (`serve --log file:DIR`): every channel is a folder of append-only segment
// files, sessions' state sits beside them, and one process owns the folder.
//
//   DIR/lock                   the owning server's pid (a dead owner's lock is taken over)
//   DIR/channels/topic/NAME/   a topic's events          DIR/channels/session/ID/  a session's own
//   DIR/state/                 terminations and live session records (file-state.ts)
//   DIR/inbox/TOPIC/           events handed over by other processes (file-spool.ts)
//
// Durability policy: every append is written to its segment (one write(2)) before the event
// can be read, so a killed server (SIGKILL, OOM kill, crash) loses nothing it sent or
// accepted; segments are fsync'ed every `fsyncIntervalMs` (default 1000; 0 = after every
// append) and at close, which bounds what a machine crash or power loss can take.
// Reads come from each channel's retained window in memory (../event-log/channel-window.ts),
// filled from the segments when the channel is opened.
import { existsSync, mkdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { SspError } from '../errors.ts';
import { ChannelWindow, WindowChannel } from '../event-log/channel-window.ts';
import { SegmentLog, SegmentWriteError } from '../event-log/segment-file.ts';
import type { SegmentFs } from '../event-log/segment-file.ts';
import type { Channel, ChannelOptions, EventLog, StreamEnd } from '../event-log/types.ts';
import { SerializedData } from '../event-log/types.ts';
import { inboxDir, pendingInboxFiles, readInboxFile, removeInboxFile } from './file-spool.ts';
import { FileSessionStore } from './file-state.ts';
import { shownLocation } from './log-url.ts';

export interface FileLogOptions {
  /** fsync period in ms; 0 syncs after every append. Default 1000. */
  fsyncIntervalMs?: number;
  /** Segment size before a new file is started (old ones are removed whole). Default 1 MiB. */
  segmentBytes?: number;
  /** retryAfterMs of the `unavailable` answers while the disk refuses writes. Default 2000. */
  retryAfterMs?: number;
  /** Injected file-system calls (tests: a full or read-only disk). */
  fs?: SegmentFs;
  /** Where notices go (torn records cut, write failures). Default: stderr. */
  notice?: (line: string) => void;
}

/** How often an append that failed for lack of disk is retried, and the inbox re-scanned. */
const RETRY_MS = 500;

export class FileEventLog implements EventLog {
  readonly dir: string;
  readonly location: string;
  readonly sessions: FileSessionStore;
  readonly #channels = new Map<string, FileChannel>();
  readonly #options: Required<Pick<FileLogOptions, 'fsyncIntervalMs' | 'segmentBytes' | 'retryAfterMs'>> & FileLogOptions;
  readonly #notice: (line: string) => void;
  readonly #syncTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(dir: string, options: FileLogOptions = {}) {
    this.dir = dir;
    this.location = shownLocation({ kind: 'file', dir }) as string;
    this.#options = { fsyncIntervalMs: 1000, segmentBytes: 1024 * 1024, retryAfterMs: 2000, ...options };
    this.#notice = options.notice ?? ((line) => console.error(line));
    mkdirSync(dir, { recursive: true });
    takeLock(dir);
    this.sessions = new FileSessionStore(join(dir, 'state'), (error) => this.unavailable(error), {
      ...(options.fs && { fs: options.fs }),
      notice: this.#notice,
    });
    if (this.#options.fsyncIntervalMs > 0) {
      this.#syncTimer = setInterval(() => this.sync(), this.#options.fsyncIntervalMs);
      this.#syncTimer.unref();
    }
  }

  channel(name: string, options: ChannelOptions): FileChannel {
    this.#assertOpen();
    let channel = this.#channels.get(name);
    if (!channel) {
      channel = new FileChannel(this, name, channelDir(this.dir, name), options, this.#options, this.#notice);
      this.#channels.set(name, channel);
    }
    return channel;
  }

  delete(name: string): void {
    const channel = this.#channels.get(name);
    this.#channels.delete(name);
    if (channel) channel.destroy();
    else rmSync(channelDir(this.dir, name), { recursive: true, force: true });
  }

  /** fsync (in the background) of every channel and the state written since the last one; failures are reported. */
  sync(): void {
    const report = (error: Error) => this.#notice(`xanjax: file log: ${error.message}`);
    for (const channel of this.#channels.values()) channel.syncInBackground(report);
    this.sessions.syncInBackground(report);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#syncTimer);
    for (const channel of this.#channels.values()) channel.close();
    this.#channels.clear();
    this.sessions.close();
    releaseLock(this.dir);
  }

  /** An answer for a request the disk cannot take now (retryable). */
  unavailable(error: unknown): SspError {
    this.#notice(`xanjax: file log: ${(error as Error).message}: answering unavailable`);
    return new SspError('unavailable', 'the event log cannot write to its disk', { retryAfterMs: this.#options.retryAfterMs });
  }

  #assertOpen(): void {
    if (this.#closed) throw new SspError('unavailable', 'the event log is closed', { retryAfterMs: this.#options.retryAfterMs });
  }
}

class FileChannel extends WindowChannel implements Channel {
  readonly #segments: SegmentLog;
  readonly #notice: (line: string) => void;
  readonly #syncEach: boolean;
  /** Appends waiting for the disk, in order (a failed write is retried until it succeeds). */
  #queue: Promise<unknown> | undefined;
  #closed = false;
  /** Topic channels: the newest inbox line already in the log (`NAME#index`). */
  #lastSource: { file: string; index: number } | undefined;
  #inbox: { topic: string; watcher: FSWatcher | undefined; timer: NodeJS.Timeout; busy: boolean } | undefined;

  constructor(
    readonly owner: FileEventLog,
    name: string,
    dir: string,
    options: ChannelOptions,
    config: FileLogOptions & { fsyncIntervalMs: number; segmentBytes: number },
    notice: (line: string) => void,
  ) {
    const { log, records } = SegmentLog.open(dir, { segmentBytes: config.segmentBytes, notice, ...(config.fs && { fs: config.fs }) });
    super(name, new ChannelWindow(options.readers, options.retainEvents, records.length > 0 ? 0 : options.startAt));
    this.#notice = notice;
    this.#syncEach = config.fsyncIntervalMs === 0;
    this.#segments = log;
    for (const { key, json } of records) this.#load(key, json);
    if (name.startsWith('topic:')) this.#startInbox(name.slice('topic:'.length));
  }

  append(data: SerializedData): number | Promise<number> {
    return this.#enqueue(() => this.#write(data, undefined));
  }

  end(end: StreamEnd): void | Promise<void> {
    if (this.window.ended) return;
    const written = this.#enqueue(() => {
      if (this.window.ended) return this.head;
      this.#segments.append(this.head, `{"end":${JSON.stringify(end)}}`);
      this.window.setEnded(end);
      this.window.notify();
      return this.head;
    });
    if (typeof written !== 'number') return written.then(() => {});
  }

  acknowledge(position: number): void {
    const keepFrom = this.window.acknowledge(position);
    if (keepFrom !== undefined) this.#segments.dropBefore(keepFrom);
  }

  sync(): void {
    try {
      this.#segments.sync();
    } catch (error) {
      this.#notice(`xanjax: file log: ${(error as Error).message}`);
    }
  }

  syncInBackground(onError: (error: Error) => void): void {
    this.#segments.syncInBackground(onError);
  }

  close(): void {
    this.#closed = true;
    this.#stopInbox();
    this.#segments.close();
  }

  destroy(): void {
    this.#closed = true;
    this.#stopInbox();
    this.#segments.destroy();
  }

  /**
   * Runs a write now, or after the writes already waiting for the disk. A write refused by
   * the disk is retried every RETRY_MS (reported once per outage) until it succeeds or the
   * channel closes: order is kept and nothing accepted is dropped.
   */
  #enqueue(write: () => number): number | Promise<number> {
    if (this.#closed) return this.head;
    if (this.#queue === undefined) {
      try {
        return write();
      } catch (error) {
        if (!(error instanceof SegmentWriteError)) throw error;
        this.#notice(`xanjax: file log: ${error.message}; retrying every ${RETRY_MS} ms`);
      }
    }
    const attempt = async (): Promise<number> => {
      for (;;) {
        if (this.#closed) return this.head;
        try {
          return write();
        } catch (error) {
          if (!(error instanceof SegmentWriteError)) throw error;
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        }
      }
    };
    const queued = (this.#queue ?? Promise.resolve()).then(attempt);
    const mine = queued.finally(() => {
      if (this.#queue === mine) this.#queue = undefined;
    });
    this.#queue = mine;
    return queued;
  }

  /** Writes the next event (one record) and makes it readable; throws SegmentWriteError. */
  #write(data: SerializedData, source: string | undefined): number {
    if (this.window.ended) return this.head;
    const seq = this.head + 1;
    this.#segments.append(seq, source === undefined ? `{"d":${data.json}}` : `{"src":"${source}","d":${data.json}}`);
    if (this.#syncEach) this.sync();
    this.window.put(seq, data);
    // Retention (shared channels): whole segments older than the window go.
    if (this.window.readers === 'shared') this.#segments.dropBefore(this.window.oldest);
    this.window.notify();
    return seq;
  }

  #load(key: number, json: string): void {
    if (json.startsWith('{"end":')) {
      this.window.setEnded(JSON.parse(json).end as StreamEnd);
      return;
    }
    let data: string;
    if (json.startsWith('{"src":"')) {
      const cut = json.indexOf('","d":');
      const [file, index] = json.slice(8, cut).split('#');
      this.#lastSource = { file, index: Number(index) };
      data = json.slice(cut + 6, -1);
    } else data = json.slice(5, -1);
    this.window.put(key, new SerializedData(data, Buffer.byteLength(data)));
  }

  #startInbox(topic: string): void {
    const dir = inboxDir(this.owner.dir, topic);
    mkdirSync(dir, { recursive: true });
    const drain = () => this.#drainInbox();
    let watcher: FSWatcher | undefined;
    try {
      watcher = watch(dir, drain);
      watcher.on('error', () => {});
    } catch {
      // No inotify: the periodic scan below still drains the inbox.
    }
    // A scan every RETRY_MS too: a missed watch event, or a write that waits for disk space.
    const timer = setInterval(drain, RETRY_MS);
    timer.unref();
    this.#inbox = { topic, watcher, timer, busy: false };
    drain();
  }

  #stopInbox(): void {
    if (!this.#inbox) return;
    this.#inbox.watcher?.close();
    clearInterval(this.#inbox.timer);
    this.#inbox = undefined;
  }

  /** Appends every waiting inbox file, oldest first; stops at the first write the disk refuses. */
  #drainInbox(): void {
    const inbox = this.#inbox;
    if (!inbox || inbox.busy || this.#queue !== undefined || this.#closed) return;
    inbox.busy = true;
    try {
      for (const file of pendingInboxFiles(this.owner.dir, inbox.topic)) {
        const lines = readInboxFile(this.owner.dir, inbox.topic, file);
        // After a crash between appending a file's lines and removing it, skip what is in.
        const done = this.#lastSource?.file === file ? this.#lastSource.index : -1;
        for (let index = done + 1; index < lines.length; index++) {
          let data: SerializedData;
          try {
            data = SerializedData.of(JSON.parse(lines[index]));
          } catch {
            this.#notice(`xanjax: file log: inbox ${file} line ${index + 1} is not JSON; skipped`);
            continue;
          }
          this.#write(data, `${file}#${index}`);
          this.#lastSource = { file, index };
        }
        removeInboxFile(this.owner.dir, inbox.topic, file);
      }
    } catch (error) {
      if (!(error instanceof SegmentWriteError)) throw error;
      this.#notice(`xanjax: file log: ${error.message}; the inbox waits for the disk`);
    } finally {
      inbox.busy = false;
    }
  }
}

/** `topic:NAME` → DIR/channels/topic/NAME; `session:ID` → DIR/channels/session/ID. */
function channelDir(dir: string, name: string): string {
  const colon = name.indexOf(':');
  const kind = name.slice(0, colon);
  const id = name.slice(colon + 1);
  if (colon < 1 || !/^[A-Za-z0-9]+$/.test(kind) || !/^[A-Za-z0-9][A-Za-z0-9._~-]*$/.test(id)) return join(dir, 'channels', 'other', encodeURIComponent(name));
  return join(dir, 'channels', kind, id);
}

/** One server per folder: two writers would number events twice. A dead owner's lock is taken over. */
function takeLock(dir: string): void {
  const path = join(dir, 'lock');
  if (existsSync(path)) {
    const pid = Number(readFileSync(path, 'utf8').trim());
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new Error(`file log ${dir} is in use by process ${pid} (one server per folder; each instance needs its own, or use Redis)`);
    }
  }
  writeFileSync(path, `${process.pid}\n`);
}

function releaseLock(dir: string): void {
  try {
    const path = join(dir, 'lock');
    if (Number(readFileSync(path, 'utf8').trim()) === process.pid) writeFileSync(path, '');
  } catch {
    // The folder is gone or read-only: the next owner takes a dead pid's lock over anyway.
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
