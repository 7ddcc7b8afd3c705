// Features a check may need (Check.needs). The annex streams are offered iff
// `discovery.conformance` is true (spec §5, §20); the runner also requires them to be
// listed, so a server that claims the annex without offering it is caught, not trusted.
// `server-command` is there when the runner started the server itself (--server-command);
// `credentials` when the user passed request headers with -H (the credentials a server
// behind authentication requires, which the SSP-AUTH checks leave out or forge).
import type { DiscoveryDocument } from '../schemas/types.gen.ts';
import type { Features } from './check.ts';

export const annexStreams = ['ssp.counter', 'ssp.ticker', 'ssp.burst', 'ssp.fail'] as const;

/** Why each unavailable feature is unavailable (the "not testable" reason). */
export function missingFeatures(discovery: DiscoveryDocument, startsServer = false, hasHeaders = false): Map<Features, string> {
  const missing = new Map<Features, string>();
  if (!startsServer) missing.set('server-command', 'needs the runner to stop and restart the server: pass --server-command \'<command that starts it>\'');
  if (!hasHeaders) missing.set('credentials', 'needs credentials the server requires, to leave out or forge: pass them with -H (e.g. -H \'Authorization: Bearer <token>\')');
  const listed = new Set(discovery.streams.map((stream) => stream.name));
  const unlisted = annexStreams.filter((name) => !listed.has(name));
  if (discovery.conformance !== true) {
    missing.set('annex', 'server does not offer the conformance annex streams (start it with its conformance flag)');
  } else if (unlisted.length > 0) {
    missing.set('annex', `server claims the conformance annex but does not list ${unlisted.join(', ')}`);
  }
  return missing;
}
