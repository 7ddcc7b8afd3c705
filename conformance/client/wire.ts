// Every request body a client under test sends is checked against the client-message schema
// (SSP-CLIENT-2 and the message rules of §6.2), as the server runner checks server messages.
import { createValidator } from '../../schemas/index.ts';

const validator = createValidator();

/** Why a client message is invalid, or undefined. */
export function clientMessageErrors(message: unknown): string | undefined {
  if ((message as { ssp?: unknown }).ssp !== 1) return `"ssp" is ${JSON.stringify((message as { ssp?: unknown }).ssp ?? null)}, not 1`;
  const result = validator.validateClientMessage(message);
  return result.ok ? undefined : `schema: ${result.errors.join('; ')}`;
}
