// Errors are values with a stable code (spec §15.2). Status and retryability come from the
// shared registry (schemas/error-codes.json), never from a table of our own.
import { errorCodeInfo } from '../schemas/index.ts';
import type { ErrorCode, ErrorMessage } from '../schemas/types.gen.ts';

export interface SspErrorExtras {
  /** Sent as `retryAfterMs` and as the `Retry-After` header (seconds, rounded up). */
  retryAfterMs?: number;
  details?: Record<string, unknown>;
  /** For unsupported-version: the versions this server speaks. */
  versions?: number[];
  /** Extension members of the error message (spec §6.5), e.g. multiplex `restate`. */
  ext?: Record<string, unknown>;
}

export class SspError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extras: SspErrorExtras = {},
  ) {
    super(message);
    this.name = 'SspError';
  }

  get status(): number {
    return errorCodeInfo[this.code].status;
  }

  toMessage(): ErrorMessage {
    const { retryAfterMs, details, versions, ext } = this.extras;
    return {
      ssp: 1,
      type: 'error',
      code: this.code,
      message: this.message,
      retryable: errorCodeInfo[this.code].retryable,
      ...(retryAfterMs !== undefined && { retryAfterMs }),
      ...(details !== undefined && { details }),
      ...(versions !== undefined && { versions }),
      ...(ext !== undefined && { ext }),
    } as ErrorMessage;
  }
}
