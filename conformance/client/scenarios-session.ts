// Scenarios around a live session's requests (spec §16.1, §16.5): the credentials a client
// is given travel with every request, and a client that closes its session reports the
// close's termination and delivers nothing that arrives after it.
import type { Reply } from './scripted-server.ts';
import { seqs, type Answer, type Scenario } from './scenario-kit.ts';

const credential = 'Bearer conformance-client-kit-token';

export const sessionScenarios: Scenario[] = [
  {
    id: 'SSP-CLIENT-28/credentials',
    title: 'MUST send the credentials it is given with every request: open, poll and close',
    headers: { authorization: credential },
    script: () => ({
      count: 50,
      perBatch: 1,
      // One event per 300 ms: the stop comes while the session is live, so a close follows.
      answer: (request, state) => (request.message?.type === 'poll' && (request.sig?.position ?? 0) > 0 ? { ...state.plain(), delayMs: 300 } : undefined),
    }),
    stopAfterEvents: 3,
    judge(run, fail) {
      const sent = run.requests.filter((request) => request.method === 'POST');
      if (!sent.some((request) => request.message?.type === 'poll')) fail('the client sent no poll');
      const without = sent.filter((request) => request.headers.authorization !== credential);
      if (without.length > 0) fail(`given the credential "Authorization: ${credential}" (SSP_HEADERS), the client sent ${without.length} of ${sent.length} requests without it: ${without.map((request) => request.message?.type ?? request.raw.slice(0, 40)).join(', ')}`);
    },
  },
  {
    id: 'SSP-CLIENT-30/close-while-held',
    title: 'MUST report the termination answering its close, and deliver no event that arrives after it sent close',
    script: () => {
      // The poll after the first batch is held until the close arrives; then it is answered
      // with new events (the server answered it first) and the close with `closed`.
      let release: ((reply: Reply) => void) | undefined;
      let sessionOf = 1;
      let closed = false;
      const answer: Answer = (request, state) => {
        const sig = request.sig;
        if (!sig) return undefined;
        // After the close, a poll gets the plain stream's events: a client must not deliver them.
        if (request.message?.type === 'poll' && sig.position === 2 && !closed) {
          sessionOf = sig.session;
          const empty: Reply = { status: 200, body: { ssp: 1, type: 'batch', sig: state.sign(sig.session, 2), events: [] } };
          return new Promise<Reply>((resolve) => {
            release = resolve;
            setTimeout(() => resolve(empty), 1000);
          });
        }
        if (request.message?.type !== 'close') return undefined;
        closed = true;
        release?.({ status: 200, body: { ssp: 1, type: 'batch', sig: state.sign(sessionOf, 4), events: [3, 4].map((seq) => ({ seq, data: { n: seq } })) } });
        return { status: 200, body: { ssp: 1, type: 'termination', reason: 'closed', sig: state.sign(sig.session, 4), last: 4, advice: { action: 'none' } }, delayMs: 100 };
      };
      return { count: 50, perBatch: 2, answer };
    },
    stopAfterEvents: 2,
    judge(run, fail) {
      const close = run.requests.find((request) => request.message?.type === 'close');
      if (!close) return fail('the client was stopped (SIGINT) while a poll was held and sent no close');
      const late = seqs(run).filter((seq) => seq > 2);
      if (late.length > 0) fail(`the client delivered events ${JSON.stringify(late)} that the server sent after the client's close`);
      const end = run.lines.at(-1);
      if (!end || !('termination' in end) || end.termination.reason !== 'closed') fail(`the client's last line is ${JSON.stringify(end ?? null)}; expected the termination answering its close (reason closed)`);
    },
  },
];
