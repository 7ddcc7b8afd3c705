// `xanjax conformance <endpoint-url> [options]`: main(argv) → exit code.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Check } from './check.ts';
import { readBaseline } from './baseline.ts';
import { parseCliArgs, usage, type CliOptions } from './cli-args.ts';
import { DiscoveryError, UsageError } from './errors.ts';
import { exitCodeOf, type RunSummary } from './report.ts';
import { wantsColor } from './reporters/ansi.ts';
import { reporters } from './reporters/index.ts';
import { verdictLine } from './reporters/pretty.ts';
import { progressLine } from './reporters/progress.ts';
import { runChecks } from './runner.ts';
import { selectChecks } from './select.ts';

export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Seams for tests and embedding; the defaults are the real process streams and checks. */
export interface MainOptions {
  checks?: readonly Check[];
  stdout?: Output;
  stderr?: Output;
  env?: NodeJS.ProcessEnv;
  /** Per-check time bound (runner.ts); derived from the limits when absent. */
  checkTimeoutMs?: number;
}

function listChecks(checks: readonly Check[]): string {
  const idWidth = Math.max(0, ...checks.map((check) => check.id.length));
  return checks.map((check) => `${check.id.padEnd(idWidth)}  ${check.level.padEnd(6)}  ${check.title}\n`).join('');
}

export async function writeReports(report: RunSummary, options: Pick<CliOptions, 'reporters'> & { passingTranscripts?: boolean }, stdout: Output, env: NodeJS.ProcessEnv): Promise<void> {
  for (const { name, file } of options.reporters) {
    const text = reporters[name](report, { color: file === undefined && wantsColor(stdout.isTTY, env), passingTranscripts: options.passingTranscripts });
    if (file === undefined) {
      stdout.write(text);
      continue;
    }
    try {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, text);
    } catch (error) {
      throw new UsageError(`--reporter ${name}: cannot write ${file}: ${(error as Error).message}`);
    }
  }
  // With every report in a file, the terminal still learns the verdict.
  const files = options.reporters.flatMap(({ file }) => (file === undefined ? [] : [file]));
  if (files.length === options.reporters.length) {
    stdout.write(`${verdictLine(report, { color: wantsColor(stdout.isTTY, env) })}; reports: ${files.join(', ')}\n`);
  }
}

export async function main(argv: string[], io: MainOptions = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  // Load mode (--load N) is a different run with its own options: see load-cli.ts.
  if (argv.some((arg) => arg === '--load' || arg.startsWith('--load='))) return (await import('./load-cli.ts')).main(argv, { stdout, stderr });
  try {
    const options = parseCliArgs(argv);
    if (options.help) {
      stdout.write(`${usage}\n`);
      return 0;
    }
    const checks = io.checks ?? (await import('./checks/index.ts')).allChecks;
    if (options.list) {
      stdout.write(listChecks(selectChecks(checks, options)));
      return 0;
    }
    const expectedFailures = options.expectedFailures === undefined ? [] : await readBaseline(options.expectedFailures);
    const progress = stderr.isTTY ? progressLine(stderr) : undefined;
    let report: RunSummary;
    try {
      report = await runChecks(checks, {
        endpoint: options.endpoint as string,
        headers: options.headers,
        origin: options.origin,
        ...(options.serverCommand === undefined ? {} : { serverCommand: options.serverCommand }),
        strict: options.strict,
        timeoutScale: options.timeoutScale,
        concurrency: options.concurrency,
        only: options.only,
        skip: options.skip,
        expectedFailures,
        checkTimeoutMs: io.checkTimeoutMs,
        onResult: progress?.update,
      });
    } finally {
      progress?.clear();
    }
    await writeReports(report, options, stdout, env);
    return exitCodeOf(report.summary);
  } catch (error) {
    if (error instanceof UsageError) {
      stderr.write(`xanjax conformance: ${error.message}\nRun 'xanjax conformance --help' for the options.\n`);
      return 2;
    }
    if (error instanceof DiscoveryError) {
      stderr.write(`xanjax conformance: ${error.message}\n`);
      return 2;
    }
    // A fault of the runner itself: like a harness error, never blamed on the server.
    stderr.write(`xanjax conformance: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return 3;
  }
}
