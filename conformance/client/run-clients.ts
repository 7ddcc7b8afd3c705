// runClientScenarios: every selected scenario against the client command, each with its own
// scripted server, a few at a time; then the wire rules that bind every request of every
// scenario (SSP-CLIENT-1, -2, -8, SSP-SECURITY-8). Results are CheckResults, so the server runner's
// reporters, exit codes and filters apply unchanged.
import type { CheckResult, Level } from '../check.ts';
import { clientMessageErrors } from './wire.ts';
import { buildReport, type RunSummary } from '../report.ts';
import { matches, tokens } from '../select.ts';
import { UsageError } from '../errors.ts';
import { launchClient } from './contract.ts';
import { DEFAULT_TIMEOUT_MS } from './scenario-kit.ts';
import { scenarios as allScenarios, type ClientRun, type Scenario } from './scenarios.ts';
import { startScriptedServer, streamName, type RecordedRequest } from './scripted-server.ts';

export interface ClientRunOptions {
  /** The client under test: program and arguments ({endpoint}, {stream}, {params} replaced). */
  command: string[];
  only?: string[];
  skip?: string[];
  strict?: boolean;
  /** Scenarios run at once (default 4): each mostly waits on the client's timers. */
  concurrency?: number;
  /** Multiplies each scenario's time bound. */
  timeoutScale?: number;
  scenarios?: readonly Scenario[];
  onResult?(result: CheckResult, done: number, total: number): void;
}

class Failed extends Error {}

const levelOf = (title: string): Level => title.split(' ', 1)[0] as Level;

/** Wire rules judged over every request of every scenario. */
const wireRules: Array<{ id: string; title: string; broken(request: RecordedRequest): string | undefined }> = [
  {
    id: 'SSP-CLIENT-1/every-request',
    title: 'MUST POST every message as application/json or text/plain, charset utf-8 at most',
    broken(request) {
      if (request.method === 'GET' && request.message === undefined) return undefined; // Discovery.
      const [type, ...parameters] = (request.contentType ?? '').split(';').map((part) => part.trim().toLowerCase());
      const charset = parameters.find((parameter) => parameter.startsWith('charset='))?.slice(8).replace(/"/g, '');
      if (request.method !== 'POST') return `a ${request.method} request carrying ${request.raw.slice(0, 80)}`;
      if (type !== 'application/json' && type !== 'text/plain') return `Content-Type ${JSON.stringify(request.contentType ?? null)}`;
      if (charset !== undefined && charset !== 'utf-8') return `charset ${charset}`;
      return undefined;
    },
  },
  {
    id: 'SSP-CLIENT-2/every-request',
    title: 'MUST send "ssp": 1 in every message (and only valid client messages)',
    broken(request) {
      if (request.method !== 'POST') return undefined;
      if (!request.message) return `a body that is not a JSON object: ${request.raw.slice(0, 120)}`;
      return clientMessageErrors(request.message);
    },
  },
  {
    id: 'SSP-CLIENT-8/every-request',
    title: 'MUST NOT have more than one poll of a session outstanding',
    broken: (request) => (request.outstanding > 0 ? `a poll sent while ${request.outstanding} other poll(s) of its session were outstanding` : undefined),
  },
  {
    id: 'SSP-SECURITY-8/every-request',
    title: 'MUST NOT place a signature in a URL',
    broken: (request) => (request.signatureInUrl ? `a ${request.message?.type ?? request.method} request to ${request.exchange.request.url.slice(0, 160)}` : undefined),
  },
];

function result(id: string, title: string, started: number, outcome: { reason?: string; notApplicable?: boolean; evidence: CheckResult['evidence'] }, strict: boolean): CheckResult {
  const level = levelOf(title);
  const failed = outcome.reason !== undefined && !outcome.notApplicable;
  const status: CheckResult['status'] = outcome.notApplicable ? 'note' : !failed ? 'pass' : level === 'MUST' || strict ? 'fail' : level === 'SHOULD' ? 'warning' : 'note';
  return { id, title, level, section: 'CLIENT', specRef: `spec/ssp-1.md#${id.split('/')[0]}`, status, ...(outcome.reason !== undefined ? { reason: outcome.reason } : {}), evidence: failed ? outcome.evidence : [], ms: Math.round(performance.now() - started) };
}

function harnessError(scenario: Scenario, started: number, error: unknown, evidence: CheckResult['evidence']): CheckResult {
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { id: scenario.id, title: scenario.title, level: levelOf(scenario.title), section: 'CLIENT', specRef: `spec/ssp-1.md#${scenario.id.split('/')[0]}`, status: 'harness-error', reason, evidence, ms: Math.round(performance.now() - started) };
}

async function runScenario(scenario: Scenario, options: ClientRunOptions): Promise<{ result: CheckResult; requests: RecordedRequest[] }> {
  const started = performance.now();
  const server = await startScriptedServer(scenario.script());
  try {
    const timeoutMs = (scenario.timeoutMs ?? DEFAULT_TIMEOUT_MS) * (options.timeoutScale ?? 1);
    const outcome = await launchClient({
      command: options.command,
      endpoint: server.endpoint,
      stream: streamName,
      timeoutMs,
      ...(scenario.stopAfterEvents ? { stopAfterEvents: scenario.stopAfterEvents } : {}),
      ...(scenario.headers ? { headers: scenario.headers } : {}),
      ...(scenario.streams ? { streams: scenario.streams } : {}),
    });
    const run: ClientRun = { lines: outcome.lines, requests: server.requests, exitCode: outcome.exitCode, timedOut: outcome.timedOut };
    const evidence = server.requests.map((request) => request.exchange);
    const output = `\nclient output: ${outcome.lines.map((line) => JSON.stringify(line)).join(' ') || '(none)'}${outcome.stderr.trim() ? `\nclient stderr (end): ${outcome.stderr.trim().slice(-600)}` : ''}`;
    // A scenario of an optional feature (multiplex) the client declares, or shows, it does not implement (§20.5).
    const notApplicable = outcome.invalid.length === 0 ? scenario.notApplicable?.(run) : undefined;
    if (notApplicable !== undefined) {
      return { result: result(scenario.id, scenario.title, started, { reason: `not applicable: ${notApplicable}`, notApplicable: true, evidence: [] }, options.strict ?? false), requests: server.requests };
    }
    let reason: string | undefined;
    if (outcome.invalid.length > 0) reason = `the client printed lines that break the §20.5 contract: ${outcome.invalid.slice(0, 3).join('; ')}`;
    else {
      try {
        scenario.judge(run, (message) => {
          throw new Failed(message);
        });
        if (outcome.timedOut && scenario.stopAfterEvents === undefined) reason = `the client did not exit within ${timeoutMs} ms after the stream ended`;
      } catch (error) {
        // A judge that breaks on what a client sent is the kit's fault: that scenario's harness error, not the run's end.
        if (!(error instanceof Failed)) return { result: harnessError(scenario, started, error, evidence), requests: server.requests };
        reason = `${error.message}${outcome.timedOut ? ` (the client was killed after ${timeoutMs} ms)` : ''}`;
      }
    }
    return { result: result(scenario.id, scenario.title, started, { ...(reason === undefined ? {} : { reason: reason + output }), evidence }, options.strict ?? false), requests: server.requests };
  } finally {
    await server.close();
  }
}

function select(scenarios: readonly Scenario[], options: ClientRunOptions): Scenario[] {
  const asChecks = scenarios.map((scenario) => ({ scenario, check: { id: scenario.id, section: 'CLIENT' } }));
  const only = tokens(options.only);
  const skip = tokens(options.skip);
  const ids = [...asChecks.map(({ check }) => check), ...wireRules.map((rule) => ({ id: rule.id, section: 'CLIENT' }))];
  for (const [flag, list] of [['--only', only], ['--skip', skip]] as const) {
    const unknown = list.filter((token) => !ids.some((check) => matches(check as never, token)));
    if (unknown.length > 0) throw new UsageError(`${flag}: no scenario matches ${unknown.map((t) => `'${t}'`).join(', ')}`);
  }
  return asChecks
    .filter(({ check }) => (only.length === 0 || only.some((token) => matches(check as never, token))) && !skip.some((token) => matches(check as never, token)))
    .map(({ scenario }) => scenario);
}

export async function runClientScenarios(options: ClientRunOptions): Promise<RunSummary> {
  if (options.command.length === 0) throw new UsageError('missing the client command (after --)');
  const selected = select(options.scenarios ?? allScenarios, options);
  if (selected.length === 0) throw new UsageError('no scenarios selected');
  const startedAt = new Date();
  const started = performance.now();
  const results = new Map<Scenario, CheckResult>();
  const requests: RecordedRequest[] = [];
  const total = selected.length + wireRules.length;
  let next = 0;
  const worker = async () => {
    while (next < selected.length) {
      const scenario = selected[next++]!;
      const outcome = await runScenario(scenario, options);
      results.set(scenario, outcome.result);
      requests.push(...outcome.requests);
      options.onResult?.(outcome.result, results.size, total);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, selected.length) }, worker));
  const wire = wireRules.map((rule, i) => {
    const ruleStarted = performance.now();
    const broken = requests.flatMap((request) => {
      const problem = rule.broken(request);
      return problem === undefined ? [] : [{ request, problem }];
    });
    const reason = broken.length === 0 ? undefined : `${broken.length} of the ${requests.length} requests the client sent break it: ${broken.slice(0, 3).map(({ problem }) => problem).join('; ')}`;
    const wireResult = result(rule.id, rule.title, ruleStarted, { ...(reason === undefined ? {} : { reason }), evidence: broken.slice(0, 5).map(({ request }) => request.exchange) }, options.strict ?? false);
    options.onResult?.(wireResult, selected.length + i + 1, total);
    return wireResult;
  });
  return buildReport({
    endpoint: `client: ${options.command.join(' ')}`,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    strict: options.strict ?? false,
    results: [...selected.map((scenario) => results.get(scenario)!), ...wire],
  });
}
