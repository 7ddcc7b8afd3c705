// The reference server's event log for a bench row, by `--log` value: `memory` (default),
// `file` (a new temporary folder per server start), `file:DIR` (a new subfolder of DIR per
// start, so each run starts empty) or `redis://HOST:PORT[/DB]` (a Redis you run; topic
// 'bench' continues across runs, each session starting at its head).
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEventLog } from '../reference-server/durable/open-log.ts';
import type { EventLog } from '../reference-server/event-log/types.ts';

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
