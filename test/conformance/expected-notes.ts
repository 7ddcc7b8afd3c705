// Notes that a conforming reference server gets from a run without --server-command, so the
// proofs that demand "every check passes" accept exactly these and nothing else:
// - the restart checks say they need --server-command (restart.test.ts runs them with it);
// - the credential checks (SSP-AUTH) say they need -H credentials (auth-headers.test.ts runs them with them);
// - SSP-DISCOVERY-9 (the empty-params rule) does not apply: every stream the reference server
//   offers has a params schema.
interface Outcome {
  id: string;
  status: string;
  reason?: string | undefined;
}

export function isExpectedNote(result: Outcome): boolean {
  if (result.status !== 'note') return false;
  const reason = result.reason ?? '';
  return /^not testable: .*--server-command/.test(reason) || /^not testable: needs credentials the server requires/.test(reason) || (result.id === 'SSP-DISCOVERY-9' && /^not applicable: every stream the server offers has a params schema/.test(reason));
}

/** A check that cannot observe its requirement under the unusual (legal) limits a test chose says so. */
export function isLimitsNote(result: Outcome): boolean {
  return result.status === 'note' && /^not observable with these limits: /.test(result.reason ?? '');
}
