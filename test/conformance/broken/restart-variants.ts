// Servers for the restart checks (--server-command), each run as its own process by
// restart-server.ts. `journal` conforms: it keeps the termination memory across restarts in
// a file (SSP-SIGNATURE-14's first means), which the reference server's memory mode does not
// do by itself. The others each break one promise of shutdown, restart or resume.
import { readFileSync, writeFileSync } from 'node:fs';
import { jsonResponse, type BrokenServer, type ProxyRequest, type ProxyResponse, type Variant, type VariantHooks } from './proxy.ts';
import { eventsOf, isBatch, isPoll, sigOf, type Message } from './rewrite.ts';

export interface RestartVariant extends Variant {
  /** What SIGTERM does instead of the graceful shutdown. */
  onShutdown?(server: BrokenServer): Promise<void>;
}

interface Journal {
  /** Every signature seen, to the first signature of its session (the session's key across restarts). */
  sessions: Record<string, string>;
  /** Terminations other than shutdown, by session key. */
  terminations: Record<string, Message>;
}

/** Termination memory kept in `path`, read at start and written on every change. */
function journalHooks(path: string, remember: boolean): VariantHooks & { before: Set<string> } {
  let journal: Journal = { sessions: {}, terminations: {} };
  try {
    journal = JSON.parse(readFileSync(path, 'utf8')) as Journal;
  } catch {
    // First start.
  }
  const save = () => writeFileSync(path, JSON.stringify(journal));
  // Signatures issued before this start.
  const before = new Set(Object.keys(journal.sessions));
  return {
    before,
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
      if (res.message?.type === 'termination' && res.message.reason !== 'shutdown') journal.terminations[key] = res.message;
      save();
      return res;
    },
  };
}

export function restartVariants(journal: string): RestartVariant[] {
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
  ];
}
