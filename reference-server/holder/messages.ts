// Server message bodies (spec §6). A batch's events are text serialized at append time (data
// text stored once per channel, ./events-text.ts); signatures are base64url plus '.', so they
// need no JSON escaping.
import type { Advice, TerminationMessage } from '../../schemas/types.gen.ts';

/** `extensions` is present when the open asked for extensions (SSP-EXT-2), possibly empty. */
export function sessionBody(sig: string, stream: string, position: number, extensions?: readonly string[]): string {
  return JSON.stringify(extensions ? { ssp: 1, type: 'session', sig, stream, position, extensions } : { ssp: 1, type: 'session', sig, stream, position });
}

/**
 * A batch of events read from a channel: `eventsText` is their text (./events-text.ts), with
 * the session's seqs. `gap` is in session seqs already.
 */
export function batchBody(sig: string, eventsText: string, gap: { from: number; to: number } | undefined): string {
  const gapText = gap ? `,"gap":{"from":${gap.from},"to":${gap.to}}` : '';
  return `{"ssp":1,"type":"batch","sig":"${sig}"${gapText},"events":[${eventsText}]}`;
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
