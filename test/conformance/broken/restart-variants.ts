// Servers for the restart checks (--server-command), each run as its own process by
// restart-server.ts. `journal` conforms: it keeps the termination memory across restarts in
// a file (SSP-SIGNATURE-14's first means), which the reference server's memory mode does not
// do by itself. The others each break one promise of shutdown, restart or resume.
import { readFileSync, writeFileSync } from 'node:fs';
import { jsonResponse, type BrokenServer, type ProxyRequest, type ProxyResponse, type Variant, type VariantHooks } from './proxy.ts';
import { edit, eventsOf, isBatch, isPoll, sigOf, type Message } from './rewrite.ts';

export interface RestartVariant extends Variant {
  /** What SIGTERM does instead of the graceful shutdown. */
  onShutdown?(server: BrokenServer): Promise<void>;
}

interface Journal {
  /** Every signature seen, to the first signature of its session (the session's key across restarts). */
  sessions: Record<string, string>;
  /** Terminations other than shutdown, by session key. */
  terminations: Record<string, Message>;
  /** The stream each session reads, by session key. */
  streams: Record<string, string>;
}

/** Termination memory kept in `path`, read at start and written on every change. */
function journalHooks(path: string, remember: boolean): VariantHooks & { before: Set<string>; streamOf(sig: string): string | undefined } {
  let journal: Journal = { sessions: {}, terminations: {}, streams: {} };
  try {
    journal = { streams: {}, ...(JSON.parse(readFileSync(path, 'utf8')) as Partial<Journal>) } as Journal;
  } catch {
    // First start.
  }
  const save = () => writeFileSync(path, JSON.stringify(journal));
  // Signatures issued before this start.
  const before = new Set(Object.keys(journal.sessions));
  return {
    before,
    streamOf: (sig) => journal.streams[journal.sessions[sig] ?? ''],
    request: (req: ProxyRequest) => {
      const sig = sigOf(req);
      const key = sig === undefined ? undefined : journal.sessions[sig];
      const termination = key === undefined ? undefined : journal.terminations[key];
      return remember && termination && (req.message?.type === 'poll' || req.message?.type === 'close') ? jsonResponse(200, termination) : req;
    },
    response: (res: ProxyResponse, req: ProxyRequest) => {
      const sig = res.message?.sig;
      if (typeof sig !== 'string') return res;
      const from = sigOf(req);
      const key = res.message?.type === 'session' ? sig : from === undefined ? undefined : journal.sessions[from];
      if (key === undefined) return res;
      journal.sessions[sig] = key;
      if (res.message?.type === 'session') journal.streams[key] = String(req.message?.stream);
      if (res.message?.type === 'termination' && res.message.reason !== 'shutdown') journal.terminations[key] = res.message;
      save();
      return res;
    },
  };
}

/** Whether the request is a `poll` or `close` carrying a signature issued before this start. */
const preRestart = (hooks: { before: Set<string> }, req: ProxyRequest) => {
  const sig = sigOf(req);
  return sig !== undefined && hooks.before.has(sig) && (req.message?.type === 'poll' || req.message?.type === 'close');
};
const errorOf = (res: ProxyResponse, code: string) => res.message?.type === 'error' && res.message.code === code;

export function restartVariants(journal: string): RestartVariant[] {
  // Set when SIGTERM arrives (one variant per process, see restart-server.ts).
  let shuttingDown = false;
  return [
    {
      name: 'journal',
      violates: 'nothing: the reference server with its termination memory kept across restarts',
      breaks: [],
      create: () => journalHooks(journal, true),
    },
    {
      name: 'forgets-terminations-on-restart',
      violates: 'SSP-SIGNATURE-14: after a restart with kept keys, a session closed, completed or expired before it is re-created from its signatures',
      breaks: ['SSP-SIGNATURE-14'],
      create: () => journalHooks(journal, false),
    },
    {
      name: 'no-answer-at-shutdown',
      violates: 'SSP-TERMINATION-9: on SIGTERM held polls are dropped (connections closed) instead of answered with the shutdown termination',
      breaks: ['SSP-TERMINATION-9', 'SSP-TERMINATION-10', 'SSP-TERMINATION-11', 'SSP-TERMINATION-20'],
      consequences: 'TERMINATION-10, -11 and -20 judge the shutdown termination a held poll gets (-20 takes it as the instant the shutdown began), which never comes',
      create: () => journalHooks(journal, true),
      onShutdown: (server) => server.close(),
    },
    {
      name: 'resumes-at-wrong-position',
      violates: 'SSP-SIGNATURE-11: a session resumed after a restart delivers again the event at its position (resumes at p instead of after p)',
      breaks: ['SSP-SIGNATURE-11', 'SSP-TERMINATION-10'],
      consequences: 'TERMINATION-10 is observed by resuming with the shutdown termination\'s sig',
      create: () => {
        const hooks = journalHooks(journal, true);
        const repeated = new Set<string>();
        return {
          ...hooks,
          response: (res, req) => {
            const sig = sigOf(req);
            const events = eventsOf(res);
            // The first batch answering a pre-restart signature starts one event early.
            if (sig !== undefined && hooks.before.has(sig) && !repeated.has(sig) && isPoll(req) && isBatch(res) && (events[0]?.seq ?? 0) > 1) {
              repeated.add(sig);
              const seq = events[0]!.seq - 1;
              res = { ...res, message: { ...res.message, events: [{ seq, data: { n: seq } }, ...events] } };
            }
            return hooks.response!(res, req);
          },
        };
      },
    },
    {
      name: 'short-retry-during-shutdown',
      violates: 'SSP-TERMINATION-20: from SIGTERM on, requests are answered 503 unavailable with retryAfterMs 1, below the shutdown termination\'s delayMs (the server goes on accepting for a second after its held polls were answered)',
      breaks: ['SSP-TERMINATION-20'],
      create: () => {
        const hooks = journalHooks(journal, true);
        return {
          ...hooks,
          request: (req) => (shuttingDown && req.method === 'POST' ? jsonResponse(503, { ssp: 1, type: 'error', code: 'unavailable', message: 'shutting down', retryable: true, retryAfterMs: 1 }) : hooks.request!(req)),
        };
      },
      onShutdown: (server) => {
        shuttingDown = true;
        return server.shutdown(1000);
      },
    },
    {
      name: 'long-shutdown-delay',
      violates: 'SSP-LIFETIME-7: the shutdown termination advises delayMs 20000, more than half of the 15 s idleTimeoutMs restart-server runs with (opens during the shutdown are told to wait as long, so SSP-TERMINATION-20 still holds)',
      breaks: ['SSP-LIFETIME-7'],
      create: () => {
        const hooks = journalHooks(journal, true);
        const delayMs = 20_000;
        return {
          ...hooks,
          // SSP-LIFETIME-7 binds answers to poll and close only: an open may be told to wait longer.
          request: (req) => (shuttingDown && req.message?.type === 'open' ? jsonResponse(503, { ssp: 1, type: 'error', code: 'unavailable', message: 'shutting down', retryable: true, retryAfterMs: delayMs }) : hooks.request!(req)),
          response: (res, req) => {
            const advice = res.message?.advice as Message | undefined;
            if (res.message?.type === 'termination' && res.message.reason === 'shutdown') res = edit(res, { advice: { ...advice, delayMs } });
            return hooks.response!(res, req);
          },
        };
      },
      onShutdown: (server) => {
        shuttingDown = true;
        return server.shutdown(1000);
      },
    },
    {
      name: 'resumes-non-resumable',
      violates: 'SSP-SIGNATURE-12: a poll of a non-resumable session lost in a restart gets an empty batch at its position instead of 410 session-expired',
      breaks: ['SSP-SIGNATURE-12'],
      create: () => {
        const hooks = journalHooks(journal, true);
        // Streams the discovery document marks resumable: false (the runner reads it at every start).
        const nonResumable = new Set<string>();
        return {
          ...hooks,
          response: (res, req) => {
            if (res.message?.type === 'discovery') for (const stream of res.message.streams as Message[]) if (stream.resumable !== true) nonResumable.add(String(stream.name));
            const lost = preRestart(hooks, req) && req.message?.type === 'poll' && errorOf(res, 'session-expired') && nonResumable.has(hooks.streamOf(sigOf(req)!) ?? '');
            if (lost) return jsonResponse(200, { ssp: 1, type: 'batch', sig: sigOf(req), events: [] }, res);
            return hooks.response!(res, req);
          },
        };
      },
    },
    {
      name: 'lost-close-expired',
      violates: 'SSP-SIGNATURE-13: a close of a resumable session lost in a restart is answered 410 session-expired instead of the closed termination',
      breaks: ['SSP-SIGNATURE-13'],
      create: () => {
        const hooks = journalHooks(journal, true);
        return {
          ...hooks,
          response: (res, req) => {
            if (preRestart(hooks, req) && req.message?.type === 'close' && res.message?.type === 'termination' && res.message.reason === 'closed') {
              return jsonResponse(410, { ssp: 1, type: 'error', code: 'session-expired', message: 'session not known', retryable: false }, res);
            }
            return hooks.response!(res, req);
          },
        };
      },
    },
    {
      name: 'no-gap-after-recreation',
      violates: 'SSP-DELIVERY-13: a poll at a position whose events went with the restart (the session re-created later) gets an empty batch at its own position instead of the gap to the newest event',
      breaks: ['SSP-DELIVERY-13'],
      create: () => {
        const hooks = journalHooks(journal, true);
        return {
          ...hooks,
          response: (res, req) => {
            if (isPoll(req) && isBatch(res) && res.message?.gap !== undefined && eventsOf(res).length === 0) {
              const { gap: _gap, ...rest } = res.message!;
              return hooks.response!({ ...res, message: { ...rest, sig: sigOf(req) } }, req);
            }
            return hooks.response!(res, req);
          },
        };
      },
    },
  ];
}
