// Every response is evidence (issue 9 §1): whatever a check sent, each answer from the
// endpoint is also judged against the rules that hold for every response — the transport
// headers (§4.3) and, when the request carried an Origin, the CORS headers (§4.4). The
// audit collects findings per requirement during the run; the audit checks (checks/audit.ts)
// run last and fail with the offending exchanges.
import type { Exchange } from './check.ts';
import { tokensOf } from './checks/headers.ts';

export interface Finding {
  /** The requirement the response violates, e.g. 'SSP-TRANSPORT-5'. */
  requirement: string;
  problem: string;
  /** The check whose request got this response. */
  check: string;
  exchange: Exchange;
}

/** What a check reads from the audit. */
export interface AuditView {
  /** Responses from the endpoint judged so far. */
  readonly responses: number;
  /** Responses found breaking `requirement`: the first few (see `count`). */
  findings(requirement: string): readonly Finding[];
  /** How many responses broke `requirement` in all. */
  count(requirement: string): number;
}

/** Findings kept per requirement: enough to show the pattern, small enough for a report. */
const keptPerRequirement = 20;

function hasNoStore(headers: Record<string, string>): boolean {
  return tokensOf(headers['cache-control']).includes('no-store');
}

/** `application/json; charset=utf-8` (RFC 9110 §8.3.1: names case-insensitive, charset value case-insensitive, quoted or not). */
function isJsonUtf8(value: string | undefined): boolean {
  const [type, ...parameters] = (value ?? '').split(';').map((part) => part.trim().toLowerCase());
  const charset = parameters.find((parameter) => parameter.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  return type === 'application/json' && charset === 'utf-8';
}

const show = (value: string | undefined) => JSON.stringify(value ?? null);

/** The rules a single response breaks, whatever the check wanted from it. */
export function responseProblems(exchange: Exchange): Array<[requirement: string, problem: string]> {
  const { request, response } = exchange;
  if (!response) return [];
  const problems: Array<[string, string]> = [];
  const { headers } = response;
  // SSP-TRANSPORT-5: every response, every status, 204 included.
  if (!hasNoStore(headers)) problems.push(['SSP-TRANSPORT-5', `Cache-Control is ${show(headers['cache-control'])}, not no-store`]);
  // SSP-TRANSPORT-6: every response with a body (HEAD answers have none on the wire).
  if (response.body.length > 0 && !isJsonUtf8(headers['content-type'])) {
    problems.push(['SSP-TRANSPORT-6', `a body with Content-Type ${show(headers['content-type'])}, not application/json; charset=utf-8`]);
  }
  // SSP-TRANSPORT-14: a 405 names the methods the endpoint allows (HEAD, which it adds,
  // is judged by the TRANSPORT-14 check itself).
  if (response.status === 405) {
    const allow = tokensOf(headers.allow);
    if (!['get', 'post', 'options'].every((method) => allow.includes(method))) problems.push(['SSP-TRANSPORT-14', `405 with Allow ${show(headers.allow)}, which does not list GET, POST and OPTIONS`]);
  }
  const origin = request.headers.origin;
  const acao = headers['access-control-allow-origin']?.trim();
  // SSP-CORS-4 binds every response that allows credentials.
  if (headers['access-control-allow-credentials']?.trim().toLowerCase() === 'true' && (origin === undefined || acao !== origin)) {
    problems.push(['SSP-CORS-4', `Access-Control-Allow-Credentials: true with Access-Control-Allow-Origin ${show(acao)}${origin === undefined ? ' on a request without Origin' : `, not the request's Origin ${origin}`}`]);
  }
  if (origin !== undefined && acao !== undefined) {
    if (acao !== origin && acao !== '*') problems.push(['SSP-CORS-3', `Access-Control-Allow-Origin ${show(acao)} for Origin ${origin}`]);
    const vary = tokensOf(headers.vary);
    if (acao !== '*' && !vary.includes('origin') && !vary.includes('*')) problems.push(['SSP-CORS-5', `Access-Control-Allow-Origin echoes the Origin but Vary is ${show(headers.vary)}`]);
  }
  return problems;
}

const corsNames = ['access-control-allow-origin', 'access-control-allow-credentials'];

export class ResponseAudit implements AuditView {
  #responses = 0;
  readonly #counts = new Map<string, number>();
  readonly #findings = new Map<string, Finding[]>();
  /** Per request Origin: the first response that allowed it, and the non-preflight responses that did not. */
  readonly #origins = new Map<string, { allowedBy?: Exchange; allowedCheck?: string; refused: Array<{ check: string; exchange: Exchange }> }>();

  get responses(): number {
    return this.#responses;
  }

  observe(check: string, exchange: Exchange): void {
    if (!exchange.response) return;
    this.#responses++;
    for (const [requirement, problem] of responseProblems(exchange)) this.#add({ requirement, problem, check, exchange });
    const origin = exchange.request.headers.origin;
    // A plain OPTIONS without Access-Control-Request-Method is not a preflight and need not allow anything.
    if (origin === undefined || exchange.request.method === 'OPTIONS' || exchange.request.method === 'HEAD') return;
    const seen = this.#origins.get(origin) ?? { refused: [] };
    this.#origins.set(origin, seen);
    if (exchange.response.headers['access-control-allow-origin'] !== undefined) {
      seen.allowedBy ??= exchange;
      seen.allowedCheck ??= check;
    } else if (seen.refused.length < keptPerRequirement) seen.refused.push({ check, exchange });
  }

  findings(requirement: string): readonly Finding[] {
    const found = [...(this.#findings.get(requirement) ?? [])];
    // SSP-CORS-6: an origin the server allows gets the CORS headers on every answer,
    // successful (open, held poll, close) and failed alike, or a browser cannot read some.
    if (requirement === 'SSP-CORS-6') {
      for (const [origin, seen] of this.#origins) {
        if (!seen.allowedBy) continue;
        const allowed = seen.allowedBy.response!.headers;
        const shown = corsNames.map((name) => `${name}: ${show(allowed[name])}`).join(', ');
        for (const { check, exchange } of seen.refused) {
          found.push({ requirement, check, exchange, problem: `no Access-Control-Allow-Origin for Origin ${origin}, which ${seen.allowedCheck}'s ${seen.allowedBy.request.method} answer allowed (${shown})` });
        }
      }
    }
    return found;
  }

  count(requirement: string): number {
    return requirement === 'SSP-CORS-6' ? this.findings(requirement).length : (this.#counts.get(requirement) ?? 0);
  }

  /** A finding that the response alone does not show (the check context compared two answers to one request). */
  report(finding: Finding): void {
    this.#add(finding);
  }

  #add(finding: Finding): void {
    this.#counts.set(finding.requirement, (this.#counts.get(finding.requirement) ?? 0) + 1);
    const list = this.#findings.get(finding.requirement) ?? [];
    this.#findings.set(finding.requirement, list);
    if (list.length < keptPerRequirement) list.push(finding);
  }
}
