// Segment files on their own: records round-trip, a torn or corrupt tail is cut on open and
// reported, a failed write appends nothing (and leaves no partial line), old segments go.
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as nodeFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SegmentLog, SegmentWriteError } from '../../reference-server/event-log/segment-file.ts';
import type { SegmentFs } from '../../reference-server/event-log/segment-file.ts';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'xanjax-seg-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const reopen = (dir: string, notices: string[] = []) => SegmentLog.open(dir, { notice: (line) => notices.push(line) });

describe('segment files', () => {
  it('round-trips records in key order across segments, with non-ASCII JSON', () => {
    const dir = tempDir();
    const { log } = SegmentLog.open(dir, { segmentBytes: 100 });
    for (let key = 1; key <= 20; key++) log.append(key, JSON.stringify({ n: key, s: 'é\n"' }));
    log.close();
    expect(readdirSync(dir).length).toBeGreaterThan(1);
    const { records } = reopen(dir);
    expect(records.map((r) => r.key)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(JSON.parse(records[4].json)).toEqual({ n: 5, s: 'é\n"' });
  });

  it('cuts a torn last record (no newline) on open, reports it, and appends after it cleanly', () => {
    const dir = tempDir();
    const { log } = SegmentLog.open(dir);
    log.append(1, '"a"');
    log.append(2, '"b"');
    log.close();
    const [name] = readdirSync(dir);
    const whole = statSync(join(dir, name)).size;
    appendFileSync(join(dir, name), '1234abcd 3 "c');
    const notices: string[] = [];
    const reopened = reopen(dir, notices);
    expect(reopened.records.map((r) => r.json)).toEqual(['"a"', '"b"']);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/cut a torn record at .*byte \d+ \(13 bytes dropped\)/);
    expect(statSync(join(dir, name)).size).toBe(whole);
    reopened.log.append(3, '"c"');
    reopened.log.close();
    expect(reopen(dir).records.map((r) => r.json)).toEqual(['"a"', '"b"', '"c"']);
  });

  it('cuts a record whose CRC does not match (a torn write the OS filled with other bytes)', () => {
    const dir = tempDir();
    const { log } = SegmentLog.open(dir);
    log.append(1, '"a"');
    log.append(2, '"b"');
    log.close();
    const [name] = readdirSync(dir);
    const text = readFileSync(join(dir, name), 'utf8');
    writeFileSync(join(dir, name), text.replace('"b"', '"x"'));
    const notices: string[] = [];
    expect(reopen(dir, notices).records.map((r) => r.json)).toEqual(['"a"']);
    expect(notices[0]).toContain('cut a torn record');
  });

  it('a failed write (disk full) throws SegmentWriteError, appends nothing and leaves no partial line', () => {
    const dir = tempDir();
    let failures = 0;
    // Writes half the line, then fails: what a filling disk does.
    const fs: SegmentFs = {
      ...nodeFs,
      writeSync: ((fd: number, buffer: Buffer, offset: number, length: number) => {
        if (failures > 0) {
          failures--;
          nodeFs.writeSync(fd, buffer, offset, Math.floor(length / 2));
          throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
        }
        return nodeFs.writeSync(fd, buffer, offset, length);
      }) as SegmentFs['writeSync'],
    };
    const { log } = SegmentLog.open(dir, { fs });
    log.append(1, '"a"');
    failures = 1;
    expect(() => log.append(2, '"b"')).toThrow(SegmentWriteError);
    try {
      failures = 1;
      log.append(2, '"b"');
    } catch (error) {
      expect((error as SegmentWriteError).cause.code).toBe('ENOSPC');
    }
    log.append(2, '"b"');
    log.close();
    const notices: string[] = [];
    expect(reopen(dir, notices).records.map((r) => r.json)).toEqual(['"a"', '"b"']);
    expect(notices).toEqual([]);
  });

  it('dropBefore removes whole segments below a key, never the current one', () => {
    const dir = tempDir();
    const { log } = SegmentLog.open(dir, { segmentBytes: 60 });
    for (let key = 1; key <= 30; key++) log.append(key, `"${'x'.repeat(20)}"`);
    const before = log.bytes;
    log.dropBefore(25);
    expect(log.bytes).toBeLessThan(before);
    log.close();
    const keys = reopen(dir).records.map((r) => r.key);
    expect(keys[0]).toBeLessThanOrEqual(25);
    expect(keys.at(-1)).toBe(30);
    log.dropBefore(1000);
    expect(readdirSync(dir).length).toBeGreaterThanOrEqual(1);
  });
});
