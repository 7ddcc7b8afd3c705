// `--log` values: `memory` (the default), `file:DIR`, `redis://HOST:PORT[/DB]` (or rediss://).
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type LogLocation = { kind: 'memory' } | { kind: 'file'; dir: string } | { kind: 'redis'; url: string };

export function parseLogUrl(text: string): LogLocation {
  if (text === 'memory') return { kind: 'memory' };
  if (text.startsWith('file://')) return { kind: 'file', dir: fileURLToPath(text) };
  if (text.startsWith('file:')) {
    const dir = text.slice('file:'.length);
    if (dir === '') throw new Error(`--log file: needs a folder, as in file:./xanjax-log`);
    return { kind: 'file', dir: resolve(dir) };
  }
  if (text.startsWith('redis://') || text.startsWith('rediss://')) {
    const url = new URL(text);
    const db = url.pathname.replace(/^\//, '');
    if (db !== '' && !/^\d+$/.test(db)) throw new Error(`--log ${text}: the path must be a database number, as in redis://127.0.0.1:6379/0`);
    return { kind: 'redis', url: text };
  }
  throw new Error(`--log must be memory, file:DIR or redis://HOST:PORT[/DB], got '${text}'`);
}

/** A durable log's `--log` value for other processes (an absolute folder; a Redis URL without its password). */
export function shownLocation(location: LogLocation): string | undefined {
  if (location.kind === 'memory') return undefined;
  if (location.kind === 'file') return `file:${resolve(location.dir)}`;
  const url = new URL(location.url);
  url.username = '';
  url.password = '';
  return url.href.replace(/\/$/, '');
}
