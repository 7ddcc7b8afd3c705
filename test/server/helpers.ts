// Shared helpers for the reference-server tests: real servers on 127.0.0.1:0, real HTTP.
import { request } from 'undici';
import { createServer } from '../../reference-server/index.ts';
import type { ListenOptions, SspServer } from '../../reference-server/index.ts';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export async function start(options: ListenOptions = {}): Promise<SspServer> {
  return createServer({ port: 0, ...options });
}

/** POST a message (an object is JSON-encoded) with the given content type. */
export async function post(url: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<Reply> {
  const res = await request(url, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return reply(res);
}

export async function send(url: string, method: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  return reply(await request(url, { method: method as 'GET', headers, ...(body === undefined ? {} : { body }) }));
}

async function reply(res: Awaited<ReturnType<typeof request>>): Promise<Reply> {
  const text = await res.body.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

export async function open(url: string, stream: string, params?: Record<string, unknown>): Promise<string> {
  const r = await post(url, { ssp: 1, type: 'open', stream, ...(params && { params }) });
  if (r.status !== 200 || r.json?.type !== 'session') throw new Error(`open ${stream} failed: ${r.status} ${r.text}`);
  return r.json.sig as string;
}

export function poll(url: string, sig: string, hold?: number): Promise<Reply> {
  return post(url, { ssp: 1, type: 'poll', sig, ...(hold !== undefined && { hold }) });
}

export function close(url: string, sig: string): Promise<Reply> {
  return post(url, { ssp: 1, type: 'close', sig });
}

/** Polls (hold 0 unless given) until the termination; returns every event and the termination. Bounded. */
export async function drain(url: string, sig: string, { hold = 500, maxPolls = 200 } = {}): Promise<{ events: any[]; termination: any; polls: number }> {
  const events: any[] = [];
  for (let polls = 1; polls <= maxPolls; polls++) {
    const r = await poll(url, sig, hold);
    if (r.status !== 200) throw new Error(`poll failed: ${r.status} ${r.text}`);
    if (r.json.type === 'termination') return { events, termination: r.json, polls };
    events.push(...r.json.events);
    sig = r.json.sig;
  }
  throw new Error(`no termination after ${maxPolls} polls`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Opens a 12-event ssp.counter on a server with `secret`, reads at least 5 events, then
 * stops that server: what a restart test resumes from (`seen` so far, the newest `sig`).
 */
export async function readThenStop(secret: string): Promise<{ seen: number[]; sig: string }> {
  const first = await start({ conformance: true, secret });
  let sig = await open(first.url, 'ssp.counter', { count: 12, intervalMs: 10 });
  const seen: number[] = [];
  for (let i = 0; i < 50 && seen.length < 5; i++) {
    const r = await poll(first.url, sig, 1000);
    seen.push(...r.json.events.map((e: { seq: number }) => e.seq));
    sig = r.json.sig;
  }
  await first.close();
  await sleep(50);
  return { seen, sig };
}
