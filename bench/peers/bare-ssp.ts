// (f) The SSP/1 wire at bare's cost: bare's loop (one shared array of events, one body text
// per cursor, held requests released on publish, one expiry sweep a second) doing only what
// every SSP/1 server must do for this scenario, and nothing a full server does besides: read
// and parse a POSTed JSON message, answer each poll with a fresh HMAC-SHA256 signature (the
// reference's one-shot HMAC; the signature issued last is recognized without one, as the
// reference does), send the headers §4 requires (Cache-Control: no-store, Vary) and wrap each
// event as `{"seq":n,"data":…}`. Its ratio to bare is the protocol's own cost in Node; the
// reference's ratio to it is the implementation's. No validation, limits, errors, log or
// session lifetime.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HmacSha256 } from '../../reference-server/hmac.ts';
import { keepIdleConnections } from '../keep-alive.ts';
import type { Peer, PeerServer } from '../types.ts';
import { reference } from './reference.ts';

interface Session {
  id: string;
  /** Channel position of the session's seq 0 (the head when it opened). */
  base: number;
  lastSig: string;
}

interface Held {
  res: ServerResponse;
  session: Session;
  position: number;
  since: number;
}

const JSON_TYPE = 'application/json; charset=utf-8';

async function startServer({ holdMs, maxBatch }: { holdMs: number; maxBatch: number }): Promise<PeerServer> {
  const hmac = new HmacSha256(randomBytes(32));
  const sessions = new Map<string, Session>();
  const events: string[] = [];
  let held: Held[] = [];
  /** Events text per cursor (`base`, then position), for the current head only. */
  let texts = new Map<number, Map<number, string>>();

  const mac = (payload: string) => hmac.base64url(payload);
  const sign = (session: Session, position: number) => {
    const payload = `${session.id}.${position}`;
    return (session.lastSig = `${payload}.${mac(payload)}`);
  };
  const answer = (res: ServerResponse, body: string) => {
    res.writeHead(200, ['cache-control', 'no-store', 'vary', 'Origin', 'content-type', JSON_TYPE, 'content-length', String(Buffer.byteLength(body))]);
    res.end(body);
  };
  const refuse = (res: ServerResponse, status: number, code: string) => {
    const body = JSON.stringify({ ssp: 1, type: 'error', code, message: code });
    res.writeHead(status, ['cache-control', 'no-store', 'vary', 'Origin', 'content-type', JSON_TYPE, 'content-length', String(Buffer.byteLength(body))]);
    res.end(body);
  };
  const eventsText = (base: number, position: number) => {
    let byPosition = texts.get(base);
    if (byPosition === undefined) texts.set(base, (byPosition = new Map()));
    let text = byPosition.get(position);
    if (text === undefined) {
      const parts: string[] = [];
      for (let at = base + position; at < Math.min(events.length, base + position + maxBatch); at++) parts.push(`{"seq":${at - base + 1},"data":${events[at]}}`);
      byPosition.set(position, (text = parts.join(',')));
    }
    return text;
  };
  const batch = (session: Session, position: number) => {
    const text = eventsText(session.base, position);
    const newest = position + (text === '' ? 0 : Math.min(events.length - session.base - position, maxBatch));
    return `{"ssp":1,"type":"batch","sig":"${sign(session, newest)}","events":[${text}]}`;
  };

  /** The session and position a signature names, when it is the newest issued or its MAC verifies. */
  const verify = (sig: string): [Session, number] | undefined => {
    const last = sig.lastIndexOf('.');
    const first = sig.indexOf('.');
    const session = sessions.get(sig.slice(0, first));
    if (session === undefined || first === last) return undefined;
    if (sig !== session.lastSig && sig.slice(last + 1) !== mac(sig.slice(0, last))) return undefined;
    return [session, Number(sig.slice(first + 1, last))];
  };

  const onMessage = (res: ServerResponse, text: string) => {
    let message: { type?: unknown; sig?: unknown; stream?: unknown };
    try {
      message = JSON.parse(text);
    } catch {
      return refuse(res, 400, 'bad-request');
    }
    if (message.type === 'open') {
      const session: Session = { id: randomBytes(16).toString('base64url'), base: events.length, lastSig: '' };
      sessions.set(session.id, session);
      const body = JSON.stringify({ ssp: 1, type: 'session', sig: sign(session, 0), stream: message.stream, position: 0 });
      return answer(res, body);
    }
    const found = message.type === 'poll' && typeof message.sig === 'string' ? verify(message.sig) : undefined;
    if (found === undefined) return refuse(res, 400, 'invalid-signature');
    const [session, position] = found;
    if (session.base + position < events.length) return answer(res, batch(session, position));
    held.push({ res, session, position, since: Date.now() });
  };

  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => onMessage(res, (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8')));
  });
  // One sweep a second ends expired holds with an empty batch.
  const sweep = setInterval(() => {
    const due = Date.now() - holdMs;
    const keep: Held[] = [];
    for (const h of held) {
      if (h.res.destroyed) continue;
      if (h.since <= due) answer(h.res, batch(h.session, h.position));
      else keep.push(h);
    }
    held = keep;
  }, 1000);
  keepIdleConnections(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/ssp`,
    publish(event) {
      events.push(JSON.stringify(event));
      texts = new Map();
      const release = held;
      held = [];
      for (const h of release) answer(h.res, batch(h.session, h.position));
    },
    held: () => held.length,
    async close() {
      clearInterval(sweep);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The client half is the reference peer's: the same SSP/1 messages on one connection per session. */
export const bareSsp: Peer = {
  name: 'bare-ssp',
  startServer,
  session: reference.session,
};
