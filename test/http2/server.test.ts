// The reference server over TLS: HTTP/2 by ALPN, HTTP/1.1 for clients without it, the same
// SSP/1 answers on both, and no connection-specific header ever sent on HTTP/2.
import http2 from 'node:http2';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../reference-server/index.ts';
import type { SspServer } from '../../reference-server/index.ts';
import { makeSelfSignedCert } from './self-signed.ts';
import type { SelfSigned } from './self-signed.ts';

interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  json: any;
}

function h2Request(session: http2.ClientHttp2Session, path: string, method: string, body?: unknown, headers: http2.OutgoingHttpHeaders = {}): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': method, ':path': path, 'content-type': 'application/json', ...headers });
    let text = '';
    let head: http2.IncomingHttpHeaders = {};
    stream.setEncoding('utf8');
    stream.on('response', (h) => (head = h));
    stream.on('data', (chunk: string) => (text += chunk));
    stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, json: text ? JSON.parse(text) : undefined }));
    stream.on('error', reject);
    stream.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
  });
}

describe('serve over TLS', () => {
  let tls: SelfSigned;
  let server: SspServer;
  let session: http2.ClientHttp2Session;
  let path: string;

  beforeAll(async () => {
    tls = makeSelfSignedCert();
    server = await createServer({ port: 0, conformance: true, tls: { cert: tls.cert, key: tls.key } });
    path = new URL(server.url).pathname;
    session = http2.connect(new URL(server.url).origin, { ca: tls.cert });
  });
  afterAll(async () => {
    session?.close();
    await server?.close();
    tls?.remove();
  });

  it('prints an https URL and answers discovery over HTTP/2', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/ssp$/);
    const reply = await h2Request(session, path, 'GET');
    expect(reply.status).toBe(200);
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(reply.json).toMatchObject({ ssp: 1, type: 'discovery' });
    expect(session.alpnProtocol).toBe('h2');
  });

  it('holds several polls at once on one HTTP/2 connection and delivers to each', async () => {
    const sigs = await Promise.all(
      [0, 1, 2, 3, 4, 5, 6, 7].map(async () => (await h2Request(session, path, 'POST', { ssp: 1, type: 'open', stream: 'ssp.counter', params: { count: 2, intervalMs: 300 } })).json.sig),
    );
    // Eight held polls: more than HTTP/1.1's six connections per host, all on this one session.
    const answers = await Promise.all(sigs.map((sig) => h2Request(session, path, 'POST', { ssp: 1, type: 'poll', sig, hold: 1500 })));
    for (const answer of answers) expect(answer.json).toMatchObject({ type: 'batch', events: [{ seq: 1 }] });
  });

  it('answers an oversized body on HTTP/2 without a Connection header, and the connection carries on', async () => {
    const big = JSON.stringify({ ssp: 1, type: 'open', stream: 'ssp.counter', params: { pad: 'x'.repeat(server.handler.limits.maxBodyBytes) } });
    const reply = await h2Request(session, path, 'POST', big);
    expect(reply.status).toBe(413);
    expect(reply.headers.connection).toBeUndefined();
    expect((await h2Request(session, path, 'GET')).status).toBe(200);
  });

  it('falls back to HTTP/1.1 for a client that does not offer h2', async () => {
    const reply = await new Promise<{ status: number; alpn: string | false | null; body: string }>((resolve, reject) => {
      const req = https.request(server.url, { ca: tls.cert, ALPNProtocols: ['http/1.1'], agent: false } as https.RequestOptions, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, alpn: (res.socket as import('node:tls').TLSSocket).alpnProtocol, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(reply.status).toBe(200);
    expect(reply.alpn).toBe('http/1.1');
    expect(JSON.parse(reply.body)).toMatchObject({ type: 'discovery' });
  });

  it('answers a held HTTP/2 poll with the shutdown termination and closes', async () => {
    const own = await createServer({ port: 0, conformance: true, tls: { cert: tls.cert, key: tls.key } });
    const client = http2.connect(new URL(own.url).origin, { ca: tls.cert });
    try {
      const sig = (await h2Request(client, path, 'POST', { ssp: 1, type: 'open', stream: 'ssp.ticker', params: { intervalMs: 60000 } })).json.sig;
      const held = h2Request(client, path, 'POST', { ssp: 1, type: 'poll', sig, hold: 1500 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const closed = own.close();
      const answer = await held;
      expect(answer.status).toBe(200);
      expect(answer.headers.connection).toBeUndefined();
      expect(answer.json).toMatchObject({ type: 'termination', reason: 'shutdown', advice: { action: 'resume' } });
      await closed;
    } finally {
      client.destroy();
    }
  });
});

describe('serve --tls-cert/--tls-key', () => {
  it('reads both PEM files into the tls option, and refuses one without the other', async () => {
    const { parseOptions } = await import('../../reference-server/cli.ts');
    const pair = makeSelfSignedCert();
    try {
      const options = parseOptions(['--tls-cert', pair.certFile, '--tls-key', pair.keyFile], {});
      expect(options.tls?.cert.toString()).toBe(pair.cert.toString());
      expect(options.tls?.key.toString()).toBe(pair.key.toString());
      expect(() => parseOptions(['--tls-cert', pair.certFile], {})).toThrow(/--tls-cert and --tls-key go together/);
      expect(() => parseOptions(['--tls-cert', `${pair.dir}/missing.pem`, '--tls-key', pair.keyFile], {})).toThrow(/cannot read/);
    } finally {
      pair.remove();
    }
  });
});
