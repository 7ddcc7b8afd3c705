// The synthetic wire check (issue: "every message the server sends during the run is
// validated against the schemas"): every JSON body from the endpoint is checked against
// the schema of its `type`, and a violation fails whichever check received it.
import { createValidator } from '../schemas/index.ts';

/** Schema errors of a message the server sent, or undefined when it is valid. */
export function wireErrors(message: unknown): string[] | undefined {
  const validator = createValidator();
  const isDiscovery = typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'discovery';
  const result = isDiscovery ? validator.validate('discovery', message) : validator.validateServerMessage(message);
  return result.ok ? undefined : result.errors;
}

export function describeWireErrors(message: unknown, errors: string[]): string {
  const type = typeof message === 'object' && message !== null ? (message as { type?: unknown }).type : undefined;
  const what = typeof type === 'string' ? `'${type}' message` : 'message';
  return `server sent a ${what} that violates its schema (wire check): ${errors.join('; ')}`;
}
