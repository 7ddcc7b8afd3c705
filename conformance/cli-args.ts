// Command-line parsing for `xanjax conformance` (node:util parseArgs); every mistake is
// a UsageError naming the option, so the CLI can exit 2 with a useful message.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.ts';
import { parseOrigin } from './origin.ts';
import { isReporterName, type ReporterName } from './reporters/index.ts';

export interface ReporterTarget {
  name: ReporterName;
  /** Output file; undefined = stdout. */
  file?: string | undefined;
}

export interface CliOptions {
  help: boolean;
  list: boolean;
  endpoint?: string | undefined;
  reporters: ReporterTarget[];
  only: string[];
  skip: string[];
  strict: boolean;
  headers: Record<string, string>;
  origin?: string | undefined;
  expectedFailures?: string | undefined;
  timeoutScale?: number | undefined;
  concurrency?: number | undefined;
  serverCommand?: string | undefined;
  passingTranscripts: boolean;
  /** --ca FILE: PEM certificate(s) to trust for an https: endpoint. */
  ca?: string | undefined;
}

export const usage = `Usage: xanjax conformance <endpoint-url> [options]

Tests an SSP/1 server against every server requirement of the spec.

Options:
  --reporter NAME[:FILE]    pretty (default), json, junit or html; to FILE or stdout.
                            Repeatable; at most one reporter may write to stdout.
  --only IDS                run only checks matching an ID, ID prefix or section
                            (comma-separated, repeatable): SSP-HOLD-3, SSP-HOLD, HOLD
  --skip IDS                leave out matching checks (same matching as --only)
  --list                    print the selected checks (id, level, title) and exit
  --strict                  SHOULD failures fail the run
  -H, --header 'Name: value'  extra request header, repeatable (e.g. authentication; the
                            SSP-AUTH checks leave these out or forge them)
  --origin URL              Origin the CORS checks send (default an .invalid origin);
                            for a server that allows only some origins (SSP-CORS-1)
  --expected-failures FILE  baseline: one check ID per line, # comments; listed checks
                            may fail, but a listed check that passes fails the run
  --ca FILE                 trust the PEM certificate(s) in FILE for an https: endpoint
                            (a test CA or a self-signed certificate); HTTP/2 is offered
                            to https: endpoints and HTTP/1.1 used when the server declines
  --timeout-scale N         multiply every wait and timeout (slow machines), default 1
  --concurrency N           checks run at once (exclusive ones always alone), default 8
  --passing-transcripts     JSON report: keep the transcripts of passing checks too
  --server-command CMD      start the server under test with this shell command, wait for
                            its discovery document, and run the restart checks (shutdown
                            on SIGTERM, resume after SIGKILL, terminated sessions never
                            re-created); it must keep its signing keys across restarts.
                            Without it those checks are notes: not testable
  -h, --help                this text
  --load N [--duration S]   load mode instead: hold N ssp.ticker sessions, report latency,
                            errors, lost and duplicated events (--load 1 --help: its options)

Exit codes: 0 conforming; 1 a MUST failed (or a SHOULD under --strict, or a baseline
entry passed); 2 usage error, unreachable server or invalid discovery; 3 harness error.`;

/**
 * The options both runners share (`xanjax conformance` and `xanjax conformance-client`):
 * reporters, filters, strictness, time scale and concurrency, in node:util parseArgs form.
 */
export const reportingOptions = {
  reporter: { type: 'string', multiple: true },
  only: { type: 'string', multiple: true },
  skip: { type: 'string', multiple: true },
  list: { type: 'boolean' },
  strict: { type: 'boolean' },
  'timeout-scale': { type: 'string' },
  concurrency: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':');
  const name = colon > 0 ? text.slice(0, colon).trim() : '';
  // RFC 9110 field-name: a token.
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new UsageError(`-H: expected 'Name: value', got '${text}'`);
  return [name.toLowerCase(), text.slice(colon + 1).trim()];
}

export function parseReporter(spec: string): ReporterTarget {
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  const file = colon < 0 ? undefined : spec.slice(colon + 1);
  if (!isReporterName(name)) throw new UsageError(`--reporter: unknown reporter '${name}' (pretty, json, junit, html)`);
  if (file === '') throw new UsageError(`--reporter ${name}: empty file name after ':'`);
  return { name, file };
}

export function parseNumber(option: string, text: string | undefined, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new UsageError(`${option}: expected a positive ${integer ? 'integer' : 'number'}, got '${text}'`);
  }
  return value;
}

export function parseCliArgs(argv: string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ...reportingOptions,
        header: { type: 'string', short: 'H', multiple: true },
        origin: { type: 'string' },
        'expected-failures': { type: 'string' },
        'server-command': { type: 'string' },
        'passing-transcripts': { type: 'boolean' },
        ca: { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`expected one endpoint URL, got ${positionals.length} arguments`);
  const reporters = (values.reporter ?? ['pretty']).map(parseReporter);
  if (reporters.filter((reporter) => reporter.file === undefined).length > 1) {
    throw new UsageError('--reporter: only one reporter may write to stdout; give the others a file (NAME:FILE)');
  }
  const help = values.help ?? false;
  const list = values.list ?? false;
  if (!help && !list && positionals.length === 0) throw new UsageError('missing the endpoint URL');
  return {
    help,
    list,
    endpoint: positionals[0],
    reporters,
    only: values.only ?? [],
    skip: values.skip ?? [],
    strict: values.strict ?? false,
    headers: Object.fromEntries((values.header ?? []).map(parseHeader)),
    origin: values.origin === undefined ? undefined : parseOrigin(values.origin),
    expectedFailures: values['expected-failures'],
    timeoutScale: parseNumber('--timeout-scale', values['timeout-scale'], false),
    concurrency: parseNumber('--concurrency', values.concurrency, true),
    serverCommand: values['server-command'],
    passingTranscripts: values['passing-transcripts'] ?? false,
    ...(values.ca !== undefined && { ca: values.ca }),
  };
}
