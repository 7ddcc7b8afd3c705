// The run starts with `GET <endpoint>` (spec §4.1, §5): every check needs the limits
// it advertises, so an unreachable endpoint or an invalid document stops the run (exit 2).
import { request, type Dispatcher } from 'undici';
import type { DiscoveryDocument } from '../schemas/types.gen.ts';
import { createValidator } from '../schemas/index.ts';
import { DiscoveryError } from './errors.ts';
import { lowerCaseHeaders } from './evidence.ts';

export interface DiscoveryOptions {
  headers?: Record<string, string> | undefined;
  timeoutScale?: number | undefined;
  dispatcher?: Dispatcher | undefined;
}

/** Limits are unknown before discovery, so its timeout is a fixed 10 s (scaled). */
const discoveryTimeoutMs = 10_000;

export async function fetchDiscovery(endpoint: URL, options: DiscoveryOptions = {}): Promise<DiscoveryDocument> {
  const timeoutMs = discoveryTimeoutMs * (options.timeoutScale ?? 1);
  let status: number;
  let text: string;
  try {
    const response = await request(endpoint, {
      method: 'GET',
      headers: lowerCaseHeaders(options.headers ?? {}),
      signal: AbortSignal.timeout(timeoutMs),
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    });
    status = response.statusCode;
    text = await response.body.text();
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    const why = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : [code, message].filter(Boolean).join(': ');
    throw new DiscoveryError('ENDPOINT_UNREACHABLE', `cannot reach ${endpoint.href}: ${why}`);
  }
  if (status !== 200) {
    throw new DiscoveryError('INVALID_DISCOVERY', `GET ${endpoint.href} answered ${status}, expected 200 with the discovery document`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new DiscoveryError('INVALID_DISCOVERY', `GET ${endpoint.href} did not answer JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
  const result = createValidator().validate('discovery', document);
  if (!result.ok) {
    throw new DiscoveryError('INVALID_DISCOVERY', `GET ${endpoint.href}: invalid discovery document: ${result.errors.join('; ')}`);
  }
  return document as DiscoveryDocument;
}
