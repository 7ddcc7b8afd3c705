// Every response is evidence: these checks run after all others and fail when any answer
// the run received from the endpoint — held answers, errors of every code, discovery,
// preflights — broke a rule that binds every response (audit.ts). The dedicated checks of
// each section still probe one answer of each kind; these catch the kinds they do not. The
// last one judges every request: each open, poll and close carried unknown ext members.
import { check, CheckNote } from '../check.ts';
import type { Check, CheckContext } from '../check.ts';

/** Findings shown in full in a failure; the count says how many there were. */
const shown = 5;

function everyResponse(requirement: string, title: string, over: 'response' | 'request' = 'response'): Check {
  return check(`${requirement}/every-${over}`, title, async (ctx: CheckContext) => {
    const { audit } = ctx;
    if (audit.responses === 0) throw new CheckNote('no response was received from the endpoint by the checks run before this one: select more checks to audit');
    const findings = audit.findings(requirement);
    if (findings.length === 0) return;
    const lines = findings.slice(0, shown).map(({ check: id, exchange, problem }) => `- ${id}: ${exchange.request.method} → ${exchange.response?.status ?? '?'}: ${problem}`);
    ctx.evidence.push(...findings.slice(0, shown).map((finding) => finding.exchange));
    const total = audit.count(requirement);
    ctx.fail(`${total} of the ${audit.responses} responses the run received break ${requirement}${total > shown ? ` (the first ${shown} shown)` : ''}:\n${lines.join('\n')}`);
  }, { last: true });
}

export const auditChecks: Check[] = [
  everyResponse('SSP-TRANSPORT-5', 'MUST send Cache-Control: no-store on every response the run received'),
  everyResponse('SSP-TRANSPORT-6', 'MUST send Content-Type application/json; charset=utf-8 on every response with a body the run received'),
  everyResponse('SSP-TRANSPORT-14', 'MUST send an Allow header listing GET, POST and OPTIONS on every 405 the run received'),
  everyResponse('SSP-CORS-3', 'MUST send Access-Control-Allow-Origin as the request Origin or * on every response the run received'),
  everyResponse('SSP-CORS-4', 'MUST NOT allow credentials without the exact request Origin on any response the run received'),
  everyResponse('SSP-CORS-5', 'MUST list Origin in Vary on every response the run received that echoes the Origin'),
  everyResponse('SSP-CORS-6', 'MUST send an allowed origin the CORS headers on every answer (open, held poll, close, errors) the run received'),
  // Every open, poll and close of the run's checks carried unknown ext members (context.ts).
  everyResponse('SSP-EXT-1', 'MUST process every open, poll and close the run sent with unknown ext members as without them', 'request'),
];
