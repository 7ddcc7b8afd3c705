// `xanjax conformance <endpoint-url> --load N [--duration S]`: load mode's command line,
// progress line and reports (pretty on the terminal, json and junit to stdout or a file,
// with the same --reporter NAME[:FILE] syntax as a conformance run).
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { fetchDiscovery } from './discovery.ts';
import { DiscoveryError, UsageError } from './errors.ts';
import { loadPassed, runLoad } from './load.ts';
import type { LoadProgress, LoadResult } from './load.ts';
import { tool } from './version.ts';

export const loadUsage = `Usage: xanjax conformance <endpoint-url> --load N [options]

Holds N sessions of the conformance annex's ssp.ticker stream (the server must offer it,
e.g. in its conformance mode) and reports held sessions, event latency (from the ticker's
sentAt, so client and server should share a clock), errors, and lost or duplicated events.

Options:
  --load N                  sessions to hold at once, each on its own connection
  --duration S              seconds of polling once all are open (default 30)
  --interval MS             ssp.ticker intervalMs (default 1000)
  --reporter NAME[:FILE]    pretty (default), json or junit; to FILE or stdout. Repeatable.
  -H, --header 'Name: value'  extra request header, repeatable
  --timeout-scale N         multiply the discovery timeout (slow machines), default 1
  -h, --help                this text

Exit codes: 0 every session opened, no request failed, nothing lost or duplicated; 1
otherwise; 2 usage error or unreachable server.`;

type LoadReporter = 'pretty' | 'json' | 'junit';

interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

function positive(option: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value <= 0) throw new UsageError(`${option}: expected a positive integer, got '${text}'`);
  return value;
}

function header(text: string): [string, string] {
  const colon = text.indexOf(':');
  const name = colon > 0 ? text.slice(0, colon).trim() : '';
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new UsageError(`-H: expected 'Name: value', got '${text}'`);
  return [name.toLowerCase(), text.slice(colon + 1).trim()];
}

function reporter(spec: string): { name: LoadReporter; file?: string } {
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  if (name !== 'pretty' && name !== 'json' && name !== 'junit') throw new UsageError(`--reporter: load mode has pretty, json and junit, not '${name}'`);
  const file = colon < 0 ? undefined : spec.slice(colon + 1);
  if (file === '') throw new UsageError(`--reporter ${name}: empty file name after ':'`);
  return file === undefined ? { name } : { name, file };
}

const ms = (value: number) => `${Math.round(value)} ms`;

export function renderPretty(r: LoadResult): string {
  const passed = loadPassed(r);
  const list = (counts: Record<string, number>) =>
    Object.keys(counts).length === 0 ? 'none' : Object.entries(counts).map(([k, v]) => `${k} ×${v}`).join(', ');
  return [
    `Load: ${r.endpoint}, ${r.sessions} sessions of ssp.ticker (intervalMs ${r.intervalMs}) for ${r.durationS} s`,
    `  sessions opened     ${r.opened}/${r.sessions} in ${ms(r.openMs)}`,
    `  polls outstanding   at most ${r.maxPolling} at once`,
    `  events              ${r.events} (${Math.round(r.eventsPerS)}/s) in ${r.polls} answers`,
    `  latency             p50 ${ms(r.latencyMs.p50)}, p90 ${ms(r.latencyMs.p90)}, p99 ${ms(r.latencyMs.p99)}, max ${ms(r.latencyMs.max)}`,
    `  lost / duplicated   ${r.lost} / ${r.duplicated}${r.gapped ? `  (${r.gapped} announced as gaps)` : ''}`,
    `  terminations        ${list(r.terminations)}`,
    `  failed requests     ${list(r.errors)}`,
    ...r.errorSamples.map((sample) => `    ${sample}`),
    passed ? 'PASS: every event exactly once, no failed request' : 'FAIL: see above',
    '',
  ].join('\n');
}

function renderJunit(r: LoadResult): string {
  const xml = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);
  const cases: Array<[string, string | undefined]> = [
    [`opens ${r.sessions} sessions`, r.opened === r.sessions ? undefined : `${r.opened} of ${r.sessions} opened`],
    ['delivers every event exactly once', r.lost === 0 && r.duplicated === 0 ? undefined : `lost ${r.lost}, duplicated ${r.duplicated}`],
    ['answers every request', Object.keys(r.errors).length === 0 ? undefined : JSON.stringify(r.errors)],
  ];
  const failures = cases.filter(([, failure]) => failure !== undefined).length;
  const body = cases
    .map(([name, failure]) => `    <testcase classname="xanjax.load" name="${xml(name)}">${failure ? `<failure message="${xml(failure)}"/>` : ''}</testcase>`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n  <testsuite name="xanjax conformance --load" tests="${cases.length}" failures="${failures}">\n${body}\n  </testsuite>\n</testsuites>\n`;
}

export async function main(argv: string[], io: { stdout?: Output; stderr?: Output } = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          load: { type: 'string' },
          duration: { type: 'string' },
          interval: { type: 'string' },
          reporter: { type: 'string', multiple: true },
          header: { type: 'string', short: 'H', multiple: true },
          'timeout-scale': { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      stdout.write(`${loadUsage}\n`);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('expected one endpoint URL');
    const sessions = positive('--load', values.load, 0);
    const reporters = (values.reporter ?? ['pretty']).map(reporter);
    if (reporters.filter((r) => r.file === undefined).length > 1) throw new UsageError('--reporter: only one reporter may write to stdout');
    const headers = Object.fromEntries((values.header ?? []).map(header));
    const scale = values['timeout-scale'] === undefined ? 1 : Number(values['timeout-scale']);
    if (!(scale > 0)) throw new UsageError(`--timeout-scale: expected a positive number, got '${values['timeout-scale']}'`);
    const endpoint = positionals[0];
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new UsageError(`not a URL: '${endpoint}'`);
    }
    const discovery = await fetchDiscovery(url, { headers, timeoutScale: scale });
    if (!discovery.streams.some((stream) => stream.name === 'ssp.ticker')) {
      throw new DiscoveryError('INVALID_DISCOVERY', `${endpoint} does not offer ssp.ticker (the conformance annex, spec §20); load mode needs it`);
    }
    const tty = stderr.isTTY === true;
    const progress = (p: LoadProgress) => {
      const problems = p.lost + p.duplicated + p.errors > 0 ? `, lost ${p.lost}, duplicated ${p.duplicated}, errors ${p.errors}` : '';
      const when = p.phase === 'polling' ? `${p.secondsLeft} s left` : p.phase;
      stderr.write(`\r\x1b[2K[load ${p.opened}/${sessions} open, ${p.polling} polling, ${p.events} events${problems}] ${when}`);
    };
    const result = await runLoad({
      endpoint,
      sessions,
      durationS: positive('--duration', values.duration, 30),
      intervalMs: positive('--interval', values.interval, 1000),
      headers,
      discovery,
      ...(tty && { onProgress: progress }),
    });
    if (tty) stderr.write('\r\x1b[2K');
    for (const { name, file } of reporters) {
      const text = name === 'json' ? `${JSON.stringify({ tool, ...result, passed: loadPassed(result) }, null, 2)}\n` : name === 'junit' ? renderJunit(result) : renderPretty(result);
      if (file === undefined) stdout.write(text);
      else {
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, text);
      }
    }
    if (reporters.every((r) => r.file !== undefined)) stdout.write(renderPretty(result).split('\n').at(-2) + '\n');
    return loadPassed(result) ? 0 : 1;
  } catch (error) {
    if (error instanceof UsageError) {
      stderr.write(`xanjax conformance --load: ${error.message}\nRun 'xanjax conformance --load 1 --help' for the options.\n`);
      return 2;
    }
    if (error instanceof DiscoveryError) {
      stderr.write(`xanjax conformance --load: ${error.message}\n`);
      return 2;
    }
    stderr.write(`xanjax conformance --load: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return 3;
  }
}
