// Server message bodies (spec §6). Batches are concatenated from events serialized at
// append time; signatures are base64url plus '.', so they need no JSON escaping.
import type { Advice, TerminationMessage } from '../../schemas/types.gen.ts';
import type { StoredEvent } from '../event-log/types.ts';

/** `extensions` is present when the open asked for extensions (SSP-EXT-2), possibly empty. */
export function sessionBody(sig: string, stream: string, position: number, extensions?: readonly string[]): string {
  return JSON.stringify(extensions ? { ssp: 1, type: 'session', sig, stream, position, extensions } : { ssp: 1, type: 'session', sig, stream, position });
}

export function batchBody(sig: string, events: readonly StoredEvent[], gap: { from: number; to: number } | undefined): string {
  let body = `{"ssp":1,"type":"batch","sig":"${sig}"`;
  if (gap) body += `,"gap":{"from":${gap.from},"to":${gap.to}}`;
  body += ',"events":[';
  for (let i = 0; i < events.length; i++) body += i === 0 ? events[i].json : `,${events[i].json}`;
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
