// The reference server's event log for a bench row, by `--log` value: `memory` (default),
// `file` (a new temporary folder per server start), `file:DIR` (a new subfolder of DIR per
// start, so each run starts empty), `redis` (a redis-server the bench starts itself on a free
// loopback port, persistence off, stopped at the end) or `redis://HOST:PORT[/DB]` (a Redis
// you run; topic 'bench' continues across runs, each session starting at its head).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEventLog } from '../reference-server/durable/open-log.ts';
import type { EventLog } from '../reference-server/event-log/types.ts';
import { startRedis } from '../test/support/redis-server.ts';

/** In a server child: the event log a row's `log` names (`redis` was replaced by an address in benchLogs). */
export async function eventLogFor(spec: string): Promise<EventLog | undefined> {
  if (spec === 'memory') return undefined;
  if (spec === 'file') return openEventLog(`file:${mkdtempSync(join(tmpdir(), 'xanjax-bench-'))}`);
  if (spec.startsWith('file:')) {
    const parent = spec.slice('file:'.length);
    mkdirSync(parent, { recursive: true });
    return openEventLog(`file:${mkdtempSync(join(parent, 'run-'))}`);
  }
  return openEventLog(spec);
}

export interface BenchLogs {
  /** One reference row per `--log` value: its label, and what the server child opens. */
  rows: Array<{ label: string; log: string }>;
  /** Stops what the bench started (its Redis). */
  dispose(): Promise<void>;
}

/** The durable rows `--quick` adds by itself: the file log, and Redis where redis-server is installed. */
export function quickLogs(): string[] {
  return redisInstalled() ? ['file', 'redis'] : ['file'];
}

/** Resolves `--log` values for the rows, starting the bench's own Redis for `redis`. */
export async function benchLogs(specs: readonly string[]): Promise<BenchLogs> {
  const redis = specs.includes('redis') ? await startRedis() : undefined;
  return {
    rows: specs.map((spec) => ({ label: spec, log: spec === 'redis' ? redis!.url : spec })),
    dispose: async () => {
      await redis?.dispose();
    },
  };
}

function redisInstalled(): boolean {
  try {
    execFileSync('/bin/sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
