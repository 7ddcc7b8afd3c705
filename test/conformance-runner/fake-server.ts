// A tiny SSP-ish server, just enough for the runner's own tests (the reference server is
// never imported by the runner or its tests). Streams: `ok` behaves; `hang` never answers;
// `bad` answers with a session that violates the schema; `gone` answers unknown-stream.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DiscoveryDocument } from '../../schemas/types.gen.ts';

export const testLimits = {
  maxHoldMs: 300,
  batchDelayMs: 0,
  maxBatchEvents: 100,
  maxBatchBytes: 65536,
  idleTimeoutMs: 2000,
  retainEvents: 50,
  maxBodyBytes: 16384,
  terminationMemoryMs: 5000,
};

export function testDiscovery(overrides: Partial<DiscoveryDocument> = {}): DiscoveryDocument {
  return {
    ssp: 1,
    type: 'discovery',
    versions: [1],
    limits: testLimits,
    streams: ['ok', 'hang', 'bad', 'ssp.counter', 'ssp.ticker', 'ssp.burst', 'ssp.fail'].map((name) => ({ name, resumable: false })),
    conformance: true,
    ...overrides,
  };
}

export interface FakeServer {
  url: string;
  /** Bodies of the POSTs received, in order. */
  received: unknown[];
  /** Headers of every request received, in order. */
  headers: IncomingHttpHeaders[];
  close(): Promise<void>;
}

const sig = 'fakesignature-0123456789';

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `discovery`: the document GET answers, or a raw string body (to test invalid ones). */
export async function startFakeServer(discovery: DiscoveryDocument | string = testDiscovery()): Promise<FakeServer> {
  const received: unknown[] = [];
  const headers: IncomingHttpHeaders[] = [];
  const server = createServer(async (req, res) => {
    headers.push(req.headers);
    if (req.method === 'GET') return reply(res, 200, discovery);
    if (req.method !== 'POST') return res.writeHead(204).end();
    let message: { type: string; stream?: string; sig?: string };
    try {
      message = JSON.parse(await readBody(req)) as typeof message;
    } catch {
      return reply(res, 400, { ssp: 1, type: 'error', code: 'bad-request', message: 'invalid JSON', retryable: false });
    }
    received.push(message);
    if (message.type === 'open') {
      if (message.stream === 'hang') return; // never answered; the client aborts
      if (message.stream === 'bad') return reply(res, 200, { ssp: 1, type: 'session', sig, stream: 'bad' });
      if (message.stream === 'gone') return reply(res, 404, { ssp: 1, type: 'error', code: 'unknown-stream', message: 'no such stream', retryable: false });
      return reply(res, 200, { ssp: 1, type: 'session', sig, stream: message.stream, position: 0 });
    }
    if (message.type === 'poll') return reply(res, 200, { ssp: 1, type: 'batch', sig, events: [{ seq: 1, data: { n: 1 } }] });
    return reply(res, 200, { ssp: 1, type: 'termination', sig, reason: 'closed', last: 1, advice: { action: 'none' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/ssp`,
    received,
    headers,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
