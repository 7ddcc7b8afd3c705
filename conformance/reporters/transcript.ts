// Exchanges as a plain-text transcript (`> ` request, `< ` response lines), shared by the
// pretty, junit and html reporters so every format shows the same evidence.
import type { Exchange } from '../check.ts';

/** Headers that say nothing about conformance: short transcripts leave them out (html and junit keep them). */
export const connectionHeaders: readonly string[] = ['date', 'connection', 'keep-alive', 'transfer-encoding'];

export interface TranscriptOptions {
  /** Longest body shown, in characters (evidence bodies are already clipped to 8 KiB). */
  maxBody?: number;
  /** Show only the last N exchanges (the ones closest to the failure). */
  lastExchanges?: number;
  /** Header names (lower case) left out, e.g. connection management noise. */
  hideHeaders?: readonly string[];
}

function clip(body: string, max: number): string {
  return body.length <= max ? body : `${body.slice(0, max)}… (${body.length - max} more characters)`;
}

function headerLines(prefix: string, headers: Record<string, string>, hide: readonly string[]): string[] {
  return Object.entries(headers)
    .filter(([name]) => !hide.includes(name))
    .map(([name, value]) => `${prefix} ${name}: ${value}`);
}

function exchangeLines(exchange: Exchange, maxBody: number, hide: readonly string[]): string[] {
  const { request, response, error } = exchange;
  const lines = [`> ${request.method} ${request.url}`, ...headerLines('>', request.headers, hide)];
  if (request.body !== undefined) lines.push(...clip(request.body, maxBody).split('\n').map((line) => `> ${line}`));
  if (response) {
    lines.push(`< ${response.status} (${response.ms} ms)`, ...headerLines('<', response.headers, hide));
    if (response.body !== '') lines.push(...clip(response.body, maxBody).split('\n').map((line) => `< ${line}`));
  } else {
    lines.push(`< (no response${error === undefined ? '' : `: ${error}`})`);
  }
  return lines;
}

export function transcript(evidence: readonly Exchange[], options: TranscriptOptions = {}): string {
  const maxBody = options.maxBody ?? Number.POSITIVE_INFINITY;
  const shown = options.lastExchanges === undefined ? evidence : evidence.slice(-options.lastExchanges);
  const omitted = evidence.length - shown.length;
  const blocks = shown.map((exchange) => exchangeLines(exchange, maxBody, options.hideHeaders ?? []).join('\n'));
  if (omitted > 0) blocks.unshift(`(${omitted} earlier exchange${omitted === 1 ? '' : 's'} not shown)`);
  return blocks.join('\n\n');
}
