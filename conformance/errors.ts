// Errors of the runner itself (not of the server under test): each has a stable `code`
// so the CLI can map it to an exit code and programmatic callers can match on it.

/** Bad command line, option value, filter or baseline entry (exit code 2). */
export class UsageError extends Error {
  readonly code = 'USAGE_ERROR';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * The run cannot start: the endpoint does not answer, or its discovery document is not a
 * valid one (exit code 2). Every check needs the discovery limits, so nothing runs.
 */
export class DiscoveryError extends Error {
  constructor(
    readonly code: 'ENDPOINT_UNREACHABLE' | 'INVALID_DISCOVERY',
    message: string,
  ) {
    super(message);
    this.name = 'DiscoveryError';
  }
}

/** The check list itself is wrong (a fault of the runner, exit code 3). */
export class CheckListError extends Error {
  readonly code = 'DUPLICATE_CHECK_ID';
  constructor(readonly ids: string[]) {
    super(`check IDs must be unique; declared more than once: ${ids.join(', ')}`);
    this.name = 'CheckListError';
  }
}
