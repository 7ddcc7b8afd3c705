// How a multiplexed session's streams and the session itself end (spec §23.4): the stream
// terminations the wire carries, and the session's advice. The session's termination is
// remembered as a plain session's is (../holder/termination-memory.ts).
import type { Advice } from '../../schemas/types.gen.ts';
import type { StreamEnd } from '../event-log/types.ts';
import type { StreamTermination } from './wire.ts';

/** A stream's end in the log → its termination on the wire; `last` is its final position. */
export function streamTermination(end: StreamEnd, last: number): StreamTermination {
  if (end.reason === 'complete') return { reason: 'complete', last, advice: { action: 'none' } };
  return { reason: 'error', last, advice: end.advice === 'reopen' ? { action: 'reopen', delayMs: 1000 } : { action: 'none' }, error: end.error };
}

export function advise(reason: 'closed' | 'expired' | 'shutdown'): Advice {
  return reason === 'expired' ? { action: 'reopen' } : { action: 'none' };
}
