// The file log's inbox: how another process (`xanjax publish`, a cron job) hands events to a
// topic without writing the log itself (only the server writes its segments, so numbering
// stays in one place). A publisher writes `DIR/inbox/TOPIC/.tmp-NAME`, syncs it, and renames
// it to `NAME.jsonl` (one JSON text per line): the rename makes it appear whole or not at all.
// The server appends each file's lines to the topic in name order, marking each event with
// its source (`NAME#line`), then deletes the file; after a crash between the two, the marks
// tell it which lines of that file are already in the log.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const inboxDir = (dir: string, topic: string) => join(dir, 'inbox', topic);

let counter = 0;

/** Writes one inbox file holding `jsons` (JSON texts, in order); returns its name. */
export function writeInboxFile(dir: string, topic: string, jsons: readonly string[]): string {
  const inbox = inboxDir(dir, topic);
  mkdirSync(inbox, { recursive: true });
  // Names sort by time, then by process and count; the random tail keeps them unique.
  const name = `${String(Date.now()).padStart(15, '0')}-${process.pid}-${String(counter++).padStart(6, '0')}-${randomBytes(4).toString('hex')}.jsonl`;
  const temp = join(inbox, `.tmp-${name}`);
  writeFileSync(temp, jsons.map((json) => `${json}\n`).join(''));
  syncPath(temp);
  renameSync(temp, join(inbox, name));
  syncPath(inbox);
  return name;
}

/** Inbox files ready to consume, oldest first. */
export function pendingInboxFiles(dir: string, topic: string): string[] {
  try {
    return readdirSync(inboxDir(dir, topic))
      .filter((name) => name.endsWith('.jsonl') && !name.startsWith('.'))
      .sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** The JSON texts of an inbox file (its non-empty lines). */
export function readInboxFile(dir: string, topic: string, name: string): string[] {
  return readFileSync(join(inboxDir(dir, topic), name), 'utf8')
    .split('\n')
    .filter((line) => line !== '');
}

export function removeInboxFile(dir: string, topic: string, name: string): void {
  rmSync(join(inboxDir(dir, topic), name), { force: true });
}

function syncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
