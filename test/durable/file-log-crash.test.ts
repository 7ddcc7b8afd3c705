// The file log under SIGKILL: a server killed at several points (between an append and its
// answer, in the middle of a batch of published events, in the middle of writing a record) and
// restarted on the same folder with the same secret lets every client resume with the
// signature it holds: each client's exact sequence is checked, nothing lost, doubled or
// re-numbered. Publishing goes through the inbox from this (another) process.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { publish } from '../../reference-server/durable/publish.ts';
import { open, poll } from '../server/helpers.ts';

const fixture = fileURLToPath(new URL('./fixtures/crash-server.ts', import.meta.url));

interface Running {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<NodeJS.Signals | number | null>;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function startServer(dir: string, fault: string): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir, fault], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve({ url: line.trim(), child, stderr: () => stderr, exited });
    });
    void exited.then((how) => reject(new Error(`crash server exited (${how}) before it listened:\n${stderr}`)));
  });
}

/** A client of one session: polls whatever server is current, re-polling with its newest signature after failures. */
class Reader {
  events: Array<{ seq: number; data: any }> = [];
  termination: any;
  constructor(public sig: string) {}

  /** One poll; false when the server did not answer (it died, or is not back yet). */
  async step(url: string, hold = 500): Promise<boolean> {
    let reply;
    try {
      reply = await poll(url, this.sig, hold);
    } catch {
      return false;
    }
    if (reply.status !== 200) {
      if (process.env.DEBUG_CRASH) console.log(reply.status, reply.text);
      return false;
    }
    if (reply.json.type === 'termination') {
      this.termination = reply.json;
      return true;
    }
    this.events.push(...reply.json.events);
    this.sig = reply.json.sig;
    return true;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Three topic sessions and one ssp.counter session poll while `batches` of events are
 * published, one batch per inbox file; the server dies at `fault`; a new one starts on the
 * same folder; every reader then polls until it has everything (bounded).
 */
async function crashAndResume(fault: string, batches: number[][]): Promise<{ readers: Reader[]; counter: Reader; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'xanjax-crash-'));
  dirs.push(dir);
  const first = await startServer(dir, fault);
  let url = first.url;
  const readers = [new Reader(await open(url, 'news')), new Reader(await open(url, 'news')), new Reader(await open(url, 'news'))];
  const counter = new Reader(await open(url, 'ssp.counter', { count: 40, intervalMs: 25 }));
  let published = false;
  const total = batches.flat().length;
  const done = (reader: Reader) => reader.events.length >= total;
  const readLoop = async (reader: Reader, finished: (r: Reader) => boolean) => {
    for (let i = 0; i < 400 && !finished(reader); i++) {
      if (!(await reader.step(url))) await sleep(50);
    }
  };
  const loops = [...readers.map((reader) => readLoop(reader, (r) => published && done(r))), readLoop(counter, (r) => r.termination !== undefined)];
  for (const batch of batches) {
    await publish(`file:${dir}`, 'news', ...batch.map((n) => ({ n })));
    await sleep(30);
  }
  published = true;
  // The fault must have fired: the first server is gone (bounded wait), then a second starts.
  const how = await Promise.race([first.exited, sleep(15_000).then(() => 'still running')]);
  expect(how).toBe('SIGKILL');
  const second = await startServer(dir, 'none');
  url = second.url;
  await Promise.all(loops);
  second.child.kill('SIGTERM');
  await second.exited;
  return { readers, counter, stderr: second.stderr() };
}

const numbers = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function expectExactly(readers: Reader[], counter: Reader, total: number): void {
  for (const reader of readers) {
    expect(reader.events.map((e) => e.seq)).toEqual(numbers(1, total));
    expect(reader.events.map((e) => e.data.n)).toEqual(numbers(1, total));
  }
  expect(counter.events.map((e) => e.seq)).toEqual(numbers(1, 40));
  expect(counter.events.map((e) => e.data.n)).toEqual(numbers(1, 40));
  expect(counter.termination).toMatchObject({ type: 'termination', reason: 'complete', last: 40 });
}

describe('file log: SIGKILL and restart on the same folder', () => {
  it('between an append and its answer: the written event is delivered after the restart, once', async () => {
    const batches = numbers(1, 12).map((n) => [n]);
    const { readers, counter } = await crashAndResume('after-append:5', batches);
    expectExactly(readers, counter, 12);
  }, 240_000);

  it('in the middle of a published batch: the rest of the batch follows, nothing twice', async () => {
    const batches = [numbers(1, 3), numbers(4, 13), numbers(14, 16)];
    const { readers, counter } = await crashAndResume('after-append:7', batches);
    expectExactly(readers, counter, 16);
  }, 240_000);

  it('in the middle of writing a record: the torn record is cut (and logged), then written whole', async () => {
    const batches = [numbers(1, 4), numbers(5, 10)];
    const { readers, counter, stderr } = await crashAndResume('mid-write:6', batches);
    expectExactly(readers, counter, 10);
    expect(stderr).toMatch(/cut a torn record at .*channels\/topic\/news\/.*\.seg byte \d+/);
  }, 240_000);
});
