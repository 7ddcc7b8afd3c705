// Append-only segment files: the on-disk form of one channel of the file log.
//
// A channel is a folder of segments named by the key (seq) of their first record,
// `00000000000000000001.seg`. Each record is one line:
//
//     <crc32 of "key json", 8 hex digits> <key> <json>\n
//
// JSON text never contains a raw newline, so a line is a record. A record is whole only
// with its newline and a matching CRC: a crash in the middle of a write leaves a torn last
// line, which `open` detects, cuts off (truncating the file to the last whole record) and
// reports. Every append is one write(2) of the whole line, made before the caller can hand
// the record to anyone, so a killed process (SIGKILL, OOM) loses nothing it answered with;
// fsync (`sync`) is the caller's policy, for crashes of the machine itself.
import * as nodeFs from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/** The file-system calls a segment log makes (tests inject failing ones). */
export type SegmentFs = Pick<
  typeof nodeFs,
  'openSync' | 'writeSync' | 'fsyncSync' | 'fsync' | 'closeSync' | 'ftruncateSync' | 'readFileSync' | 'readdirSync' | 'mkdirSync' | 'unlinkSync' | 'rmSync'
>;

export interface SegmentRecord {
  key: number;
  json: string;
}

/** A write failed (disk full, read-only, I/O error): the record was not appended. */
export class SegmentWriteError extends Error {
  constructor(
    readonly path: string,
    readonly cause: NodeJS.ErrnoException,
  ) {
    super(`cannot write ${path}: ${cause.code ?? ''} ${cause.message}`.trim());
    this.name = 'SegmentWriteError';
  }
}

interface Segment {
  name: string;
  firstKey: number;
  lastKey: number;
  bytes: number;
}

export interface SegmentLogOptions {
  /** Roll to a new segment once the current one holds this many bytes. Default 4 MiB. */
  segmentBytes?: number;
  fs?: SegmentFs;
  /** Where recovery notices go (a torn record cut). Default: stderr. */
  notice?: (line: string) => void;
}

const SUFFIX = '.seg';
const segmentName = (key: number) => `${String(key).padStart(20, '0')}${SUFFIX}`;

export class SegmentLog {
  readonly #dir: string;
  readonly #fs: SegmentFs;
  readonly #segmentBytes: number;
  #segments: Segment[] = [];
  #fd: number | undefined;
  #dirty = false;
  #syncing = false;
  /** The folder exists (something was written, or found at open). */
  #created = false;

  private constructor(dir: string, options: SegmentLogOptions) {
    this.#dir = dir;
    this.#fs = options.fs ?? nodeFs;
    this.#segmentBytes = options.segmentBytes ?? 4 * 1024 * 1024;
  }

  /**
   * Opens (creating) the channel folder and reads every whole record in key order. A torn or
   * corrupt record ends the log: the file is cut there, later segments are removed, and the
   * cut is reported through `notice`.
   */
  static open(dir: string, options: SegmentLogOptions = {}): { log: SegmentLog; records: SegmentRecord[] } {
    const log = new SegmentLog(dir, options);
    const notice = options.notice ?? ((line: string) => console.error(line));
    const fs = log.#fs;
    // The folder is made by the first append: a channel that never gets an event costs no I/O.
    let names: string[];
    try {
      names = fs
        .readdirSync(dir)
        .filter((name) => name.endsWith(SUFFIX))
        .sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      names = [];
    }
    log.#created = names.length > 0;
    const records: SegmentRecord[] = [];
    for (let i = 0; i < names.length; i++) {
      const path = join(dir, names[i]);
      const buffer = fs.readFileSync(path);
      const { parsed, wholeBytes } = parseRecords(buffer);
      if (wholeBytes < buffer.length) {
        const fd = fs.openSync(path, 'r+');
        try {
          fs.ftruncateSync(fd, wholeBytes);
        } finally {
          fs.closeSync(fd);
        }
        notice(`xanjax: file log: cut a torn record at ${path} byte ${wholeBytes} (${buffer.length - wholeBytes} bytes dropped)`);
        for (const later of names.slice(i + 1)) {
          fs.unlinkSync(join(dir, later));
          notice(`xanjax: file log: removed ${join(dir, later)}, which followed the torn record`);
        }
        names.length = i + 1;
      }
      if (parsed.length === 0) {
        fs.unlinkSync(path);
        continue;
      }
      records.push(...parsed);
      log.#segments.push({ name: names[i], firstKey: parsed[0].key, lastKey: parsed[parsed.length - 1].key, bytes: wholeBytes });
    }
    return { log, records };
  }

  /** Appends one record (one write of the whole line); throws SegmentWriteError, appending nothing. */
  append(key: number, json: string): void {
    const body = `${key} ${json}`;
    const line = Buffer.from(`${crc32(body).toString(16).padStart(8, '0')} ${body}\n`, 'utf8');
    let segment = this.#segments.at(-1);
    if (!segment || this.#fd === undefined || segment.bytes >= this.#segmentBytes) segment = this.#roll(key);
    const path = join(this.#dir, segment.name);
    try {
      let written = 0;
      while (written < line.length) written += this.#fs.writeSync(this.#fd as number, line, written, line.length - written);
    } catch (error) {
      // A partial line would tear the middle of the log once later writes succeed: cut it.
      try {
        this.#fs.ftruncateSync(this.#fd as number, segment.bytes);
      } catch {
        // The file could not even be cut: recovery will cut the torn line at the next start.
      }
      throw new SegmentWriteError(path, error as NodeJS.ErrnoException);
    }
    segment.bytes += line.length;
    segment.lastKey = key;
    this.#dirty = true;
  }

  /** fsync of the current segment, if anything was written since the last one. */
  sync(): void {
    if (!this.#dirty || this.#fd === undefined) return;
    try {
      this.#fs.fsyncSync(this.#fd);
    } catch (error) {
      throw new SegmentWriteError(join(this.#dir, this.#segments.at(-1)?.name ?? ''), error as NodeJS.ErrnoException);
    }
    this.#dirty = false;
  }

  /**
   * fsync on the thread pool (the periodic policy): the event loop never waits for the disk.
   * A failure is reported through `onError` and the data is synced again next time.
   */
  syncInBackground(onError: (error: SegmentWriteError) => void): void {
    const fd = this.#fd;
    if (!this.#dirty || fd === undefined || this.#syncing) return;
    this.#dirty = false;
    this.#syncing = true;
    const path = join(this.#dir, this.#segments.at(-1)?.name ?? '');
    this.#fs.fsync(fd, (error) => {
      this.#syncing = false;
      if (!error) return;
      this.#dirty = true;
      onError(new SegmentWriteError(path, error));
    });
  }

  /** Removes every segment whose records all have keys below `key` (never the current one). */
  dropBefore(key: number): void {
    while (this.#segments.length > 1 && this.#segments[0].lastKey < key) {
      const [segment] = this.#segments.splice(0, 1);
      this.#fs.rmSync(join(this.#dir, segment.name), { force: true });
    }
  }

  /** Bytes on disk in this channel's segments. */
  get bytes(): number {
    return this.#segments.reduce((sum, segment) => sum + segment.bytes, 0);
  }

  close(): void {
    if (this.#fd === undefined) return;
    try {
      this.sync();
    } catch {
      // Closing after a failed disk: the records already written are what recovery finds.
    }
    this.#fs.closeSync(this.#fd);
    this.#fd = undefined;
  }

  /** Closes and deletes the channel folder (the channel ended and nobody can read it again). */
  destroy(): void {
    if (this.#fd !== undefined) this.#fs.closeSync(this.#fd);
    this.#fd = undefined;
    this.#segments = [];
    if (this.#created) this.#fs.rmSync(this.#dir, { recursive: true, force: true });
  }

  #roll(key: number): Segment {
    const last = this.#segments.at(-1);
    if (this.#fd !== undefined) {
      this.sync();
      this.#fs.closeSync(this.#fd);
      this.#fd = undefined;
    }
    // Reopen the last segment after a restart while it still has room; otherwise start a new one.
    const segment = last && last.bytes < this.#segmentBytes ? last : { name: segmentName(key), firstKey: key, lastKey: key - 1, bytes: 0 };
    const path = join(this.#dir, segment.name);
    try {
      if (!this.#created) this.#fs.mkdirSync(this.#dir, { recursive: true });
      this.#created = true;
      this.#fd = this.#fs.openSync(path, 'a');
    } catch (error) {
      throw new SegmentWriteError(path, error as NodeJS.ErrnoException);
    }
    if (segment !== last) this.#segments.push(segment);
    return segment;
  }
}

/** Whole records of a segment, and the byte length they span (the rest is torn or corrupt). */
export function parseRecords(buffer: Buffer): { parsed: SegmentRecord[]; wholeBytes: number } {
  const parsed: SegmentRecord[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    const newline = buffer.indexOf(0x0a, offset);
    if (newline < 0) break;
    const record = parseLine(buffer.subarray(offset, newline));
    if (!record) break;
    parsed.push(record);
    offset = newline + 1;
  }
  return { parsed, wholeBytes: offset };
}

function parseLine(line: Buffer): SegmentRecord | undefined {
  if (line.length < 12 || line[8] !== 0x20) return undefined;
  const body = line.subarray(9);
  if (crc32(body).toString(16).padStart(8, '0') !== line.toString('latin1', 0, 8)) return undefined;
  const text = body.toString('utf8');
  const space = text.indexOf(' ');
  const key = Number(text.slice(0, space));
  if (space < 1 || !Number.isSafeInteger(key)) return undefined;
  return { key, json: text.slice(space + 1) };
}
