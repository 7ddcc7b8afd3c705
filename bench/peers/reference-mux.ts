// The reference server with the `multiplex` extension (spec §23): each session follows every
// topic of the multiplexing scenario (`bench-0` …) as its streams and holds one poll for all
// of them. The wire handling is written here from the schemas' types, not taken from the
// server: the session's streams are added in its `open`, and each answer's
// `ext.multiplex.streams` parts are read per stream.
import type { BatchMessage, MultiplexBatch, MultiplexSession } from '../../schemas/types.gen.ts';
import type { Peer, PollResult } from '../types.ts';
import { poster, startReference, topicNames } from './reference.ts';

const EXTENSION = 'multiplex';

export const referenceMux: Peer = {
  name: 'reference-mux',
  startServer: startReference,
  streamsPerSession: (options) => topicNames(options).length,
  session(url, origin, options) {
    const { post, close } = poster(url, origin);
    const topics = topicNames(options);
    // Stream ids are the topics' indexes: part `id` → the index of its result.
    const [first, ...rest] = topics;
    let sig = '';
    return {
      async open() {
        const add = rest.map((stream, i) => ({ id: String(i + 1), stream }));
        const session = await post({ ssp: 1, type: 'open', stream: first, extensions: [EXTENSION], ext: { [EXTENSION]: { id: '0', add } } });
        const mux = session.ext?.[EXTENSION] as MultiplexSession | undefined;
        if (!session.extensions?.includes(EXTENSION) || !mux) throw new Error('reference-mux: the server did not accept the multiplex extension');
        if (mux.refused.length > 0 || mux.added.length !== rest.length) {
          throw new Error(`reference-mux: streams refused: ${JSON.stringify(mux.refused)}`);
        }
        sig = session.sig;
      },
      async poll(): Promise<PollResult[]> {
        const batch = (await post({ ssp: 1, type: 'poll', sig })) as BatchMessage & { type: string; reason?: string };
        if (batch.type !== 'batch') throw new Error(`reference-mux: ${batch.type} ${batch.reason}`);
        sig = batch.sig;
        const results: PollResult[] = topics.map(() => ({ events: [], gap: 0 }));
        for (const part of (batch.ext?.[EXTENSION] as MultiplexBatch | undefined)?.streams ?? []) {
          // Every stream of this scenario is a topic that never ends while the session polls.
          if (part.termination) throw new Error(`reference-mux: stream ${part.id} ended: ${part.termination.reason}`);
          const result = results[Number(part.id)];
          if (!result) throw new Error(`reference-mux: a part for unknown stream '${part.id}'`);
          if (part.gap) result.gap = part.gap.to - part.gap.from + 1;
          result.events = part.events.map((e) => e.data as PollResult['events'][number]);
        }
        return results;
      },
      close,
    };
  },
};
