// How exchanges are recorded as evidence: lower-cased header names (HTTP names are
// case-insensitive, reports compare them) and bodies clipped so a huge answer cannot
// bloat a report; the check itself always sees the full body.
import type { IncomingHttpHeaders } from 'node:http';

/** Longest body kept in evidence, in characters. */
export const evidenceBodyLimit = 8 * 1024;

export function clipBody(body: string): string {
  if (body.length <= evidenceBodyLimit) return body;
  return `${body.slice(0, evidenceBodyLimit)}… [${body.length - evidenceBodyLimit} more characters not recorded]`;
}

export function lowerCaseHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

/** Response headers as one string per name (repeated headers joined as HTTP allows). */
export function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}
