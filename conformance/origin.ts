// --origin: the Origin the CORS checks send. A server MAY allow only some origins
// (SSP-CORS-1); naming one it allows is how its CORS behaviour gets tested.
import { UsageError } from './errors.ts';

/** The serialized origin (RFC 6454) of `value`: scheme://host[:port], nothing else. */
export function parseOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`origin: not a URL: '${value}'`);
  }
  const bare = url.pathname === '/' && url.search === '' && url.hash === '' && url.username === '' && url.password === '';
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !bare) {
    throw new UsageError(`origin: expected scheme://host[:port] as a browser sends it, e.g. https://app.example.com, got '${value}'`);
  }
  return url.origin;
}
