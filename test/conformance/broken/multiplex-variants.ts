// Broken variants of the multiplex extension (spec §23): the reference server behind a proxy
// that rewrites one aspect of its multiplexed answers.
import type { ProxyRequest, ProxyResponse, Variant } from './proxy.ts';
import { edit, isBatch, isPoll, laterDiscovery, sigOf, sleep, type Message } from './rewrite.ts';

type Part = { id: string; events: Array<{ seq: number; data: unknown }>; gap?: unknown; termination?: unknown };

const muxOf = (res: ProxyResponse) => (res.message?.ext as Record<string, Message> | undefined)?.multiplex as Message | undefined;
const partsOf = (res: ProxyResponse) => (muxOf(res)?.streams ?? []) as Part[];
const changesOf = (req: ProxyRequest) => ((req.message?.ext as Record<string, Message> | undefined)?.multiplex ?? {}) as { add?: Array<{ id: string }>; remove?: string[] };

/** The response with ext.multiplex's members replaced. */
function editMux(res: ProxyResponse, members: Message): ProxyResponse {
  return edit(res, { ext: { ...(res.message?.ext as Message), multiplex: { ...muxOf(res), ...members } } });
}

export const multiplexVariants: Variant[] = [
  {
    name: 'multiplex-without-max-streams',
    violates: 'SSP-MUX-1: discovery offers multiplex without ext.multiplex.maxStreams',
    breaks: ['SSP-MUX-1'],
    create: laterDiscovery((document) => ({ ...document, ext: {} }), true),
  },
  {
    name: 'multiplex-wrong-first-id',
    violates: "SSP-MUX-2: the session answer names the first stream 'other' whatever the open's ext.multiplex.id",
    breaks: ['SSP-MUX-2'],
    create: () => ({
      response: (res) => (res.message?.type === 'session' && muxOf(res) ? editMux(res, { id: 'other' }) : res),
    }),
  },
  {
    name: 'multiplex-drops-refusals',
    violates: 'SSP-MUX-3: additions refused for unknown-stream or invalid-params are not reported',
    breaks: ['SSP-MUX-3'],
    create: () => ({
      response: (res) => {
        const refused = muxOf(res)?.refused as Array<{ error: { code: string } }> | undefined;
        if (!refused) return res;
        return editMux(res, { refused: refused.filter((r) => r.error.code !== 'unknown-stream' && r.error.code !== 'invalid-params') });
      },
    }),
  },
  {
    name: 'multiplex-refuses-repeated-addition',
    violates: 'SSP-MUX-4: an addition repeated with the same id, name and params is refused as stream-id-in-use',
    breaks: ['SSP-MUX-4'],
    create: () => {
      const seen = new Set<string>();
      return {
        response: (res, req) => {
          const ids = (changesOf(req).add ?? []).map((add) => `${JSON.stringify(add)}`);
          const repeated = ids.filter((id) => seen.has(id));
          for (const id of ids) seen.add(id);
          if (!isPoll(req) || repeated.length === 0 || !muxOf(res)) return res;
          const again = new Set(repeated.map((text) => (JSON.parse(text) as { id: string }).id));
          const added = ((muxOf(res)!.added ?? []) as string[]).filter((id) => !again.has(id));
          const refused = [...((muxOf(res)!.refused ?? []) as unknown[]), ...[...again].map((id) => ({ id, error: { code: 'stream-id-in-use', message: 'in use', retryable: false } }))];
          return editMux(res, { added, refused });
        },
      };
    },
  },
  {
    name: 'multiplex-holds-changes',
    violates: 'SSP-MUX-6: a poll carrying additions is held (answered 600 ms late) instead of answered at once',
    breaks: ['SSP-MUX-6'],
    create: () => ({
      response: async (res, req) => {
        if (isPoll(req) && (changesOf(req).add || changesOf(req).remove)) await sleep(600);
        return res;
      },
    }),
  },
  {
    name: 'multiplex-top-level-events',
    violates: "SSP-MUX-7: a multiplexed batch also carries its first stream's events at the top level",
    breaks: ['SSP-MUX-7'],
    create: () => ({
      response: (res) => {
        const first = partsOf(res).find((part) => part.events.length > 0);
        return isBatch(res) && first ? edit(res, { events: first.events }) : res;
      },
    }),
  },
  {
    name: 'multiplex-skips-seq-5',
    violates: 'SSP-MUX-8: event 5 of every stream is left out without a gap',
    breaks: ['SSP-MUX-8'],
    create: () => ({
      response: (res) => {
        if (!isBatch(res) || !muxOf(res)) return res;
        return editMux(res, { streams: partsOf(res).map((part) => ({ ...part, events: part.events.filter((event) => event.seq !== 5) })) });
      },
    }),
  },
  {
    name: 'multiplex-unfair-batch',
    violates: 'SSP-MUX-9: when two streams have many events, a batch carries only half of the second one',
    breaks: ['SSP-MUX-9'],
    create: () => ({
      response: (res) => {
        const parts = partsOf(res);
        if (!isBatch(res) || parts.length < 2 || parts.some((part) => part.events.length < 6)) return res;
        const [first, second, ...rest] = parts;
        return editMux(res, { streams: [first, { ...second!, events: second!.events.slice(0, Math.floor(second!.events.length / 2)) }, ...rest] });
      },
    }),
  },
  {
    name: 'multiplex-forgets-stream-termination',
    violates: "SSP-MUX-10: a signature sent again after an answer with a stream's termination no longer gets it",
    breaks: ['SSP-MUX-10'],
    create: () => {
      const terminated = new Set<string>();
      return {
        response: (res, req) => {
          const sig = sigOf(req);
          if (!isPoll(req) || !sig || !isBatch(res)) return res;
          if (!terminated.has(sig)) {
            if (partsOf(res).some((part) => part.termination)) terminated.add(sig);
            return res;
          }
          return editMux(res, { streams: partsOf(res).filter((part) => !part.termination) });
        },
      };
    },
  },
  {
    name: 'multiplex-close-without-parts',
    violates: 'SSP-MUX-12: the close answer of a multiplexed session carries no stream parts',
    breaks: ['SSP-MUX-12'],
    create: () => ({
      response: (res, req) => (req.message?.type === 'close' && res.message?.type === 'termination' && muxOf(res) ? editMux(res, { streams: [] }) : res),
    }),
  },
  {
    name: 'multiplex-long-signature',
    violates: 'SSP-MUX-13: sessions opened with many streams get a signature longer than 2048 characters',
    breaks: ['SSP-MUX-13'],
    create: () => ({
      response: (res, req) => {
        const adds = (changesOf(req).add ?? []) as unknown[];
        const sig = res.message?.sig;
        // Only the signature-size probe opens with one stream under each of maxStreams ids of 16 characters.
        const longIds = adds.length >= 8 && adds.every((add) => (add as { id: string }).id.length === 16);
        if (res.message?.type !== 'session' || !longIds || typeof sig !== 'string') return res;
        return edit(res, { sig: sig.padEnd(2100, '~') });
      },
    }),
  },
];
