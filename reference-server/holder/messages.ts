// Server message bodies (spec §6). Batches are concatenated from events serialized at
// append time (data text stored once per channel); signatures are base64url plus '.', so they need no JSON escaping.
import type { Advice, TerminationMessage } from '../../schemas/types.gen.ts';
import type { StoredEvent } from '../event-log/types.ts';

/** `extensions` is present when the open asked for extensions (SSP-EXT-2), possibly empty. */
export function sessionBody(sig: string, stream: string, position: number, extensions?: readonly string[]): string {
  return JSON.stringify(extensions ? { ssp: 1, type: 'session', sig, stream, position, extensions } : { ssp: 1, type: 'session', sig, stream, position });
}

/**
 * A batch of events read from a channel; `base` turns channel seqs into the session's seqs
 * (a session on a shared channel numbers from its own open, SSP-OPEN-3). `gap` is in session
 * seqs already. Each event's data is the text serialized once at append.
 */
export function batchBody(sig: string, events: readonly StoredEvent[], gap: { from: number; to: number } | undefined, base: number): string {
  let body = `{"ssp":1,"type":"batch","sig":"${sig}"`;
  if (gap) body += `,"gap":{"from":${gap.from},"to":${gap.to}}`;
  body += ',"events":[';
  for (let i = 0; i < events.length; i++) {
    const event = events[i];
    body += `${i === 0 ? '' : ','}{"seq":${event.seq - base},"data":${event.data.json}}`;
  }
  return `${body}]}`;
}

/** Bytes of a batch body around its events, at most, for a signature of sigLength and seqs up to head. */
export function batchEnvelopeBytes(sigLength: number, head: number): number {
  const digits = String(head).length;
  return `{"ssp":1,"type":"batch","sig":"","gap":{"from":,"to":},"events":[]}`.length + sigLength + 2 * digits;
}

export function terminationBody(
  sig: string,
  reason: TerminationMessage['reason'],
  last: number,
  advice: Advice,
  error?: TerminationMessage['error'],
): string {
  const message: TerminationMessage = { ssp: 1, type: 'termination', sig, reason, last, advice };
  if (error) message.error = error;
  return JSON.stringify(message);
}
