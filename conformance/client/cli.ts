// `xanjax conformance-client [options] -- <command> [args…]`: tests any SSP/1 client
// program against scripted servers (spec §20.5). main(argv) → exit code.
import { parseArgs } from 'node:util';
import { parseNumber, parseReporter, reportingOptions } from '../cli-args.ts';
import { writeReports, type Output } from '../cli.ts';
import { UsageError } from '../errors.ts';
import { exitCodeOf } from '../report.ts';
import { progressLine } from '../reporters/progress.ts';
import { selectChecks } from '../select.ts';
import { runClientScenarios } from './run-clients.ts';
import { scenarios } from './scenarios.ts';

export const usage = `Usage: xanjax conformance-client [options] -- <command> [args…]

Tests an SSP/1 client program: for each scenario a scripted server starts on a free
loopback port and the command runs with SSP_ENDPOINT, SSP_STREAM, SSP_PARAMS, SSP_HEADERS
(credentials) and SSP_STREAMS (the streams to follow) set, and {endpoint}, {stream},
{params}, {headers}, {streams} in its arguments replaced. The client prints one JSON line
per event it delivers ({"seq":…,"data":…}) and {"gap":…}, {"restart":…}, {"termination":…}
or {"error":…} lines, each with "stream" when it follows several, and exits when the stream
ends (spec §20.5). Multiplex scenarios are not applicable to a client that prints
{"unsupported":{"feature":"multiplex","reason":…}} or never asks for the extension.

  npx xanjax conformance-client -- npx xanjax tail {endpoint} {stream} --params {params} \\
    --headers {headers} --streams {streams} --format lines

Options:
  --reporter NAME[:FILE]    pretty (default), json, junit or html; to FILE or stdout
  --only IDS, --skip IDS    select scenarios by ID, ID prefix or CLIENT
  --list                    print the scenarios and exit
  --strict                  SHOULD failures fail the run
  --timeout-scale N         multiply each scenario's time bound, default 1
  --concurrency N           scenarios at once, default 4
  -h, --help                this text

Exit codes: 0 conforming; 1 a MUST failed (or a SHOULD under --strict); 2 usage error.`;

export async function main(argv: string[], io: { stdout?: Output; stderr?: Output } = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  try {
    const split = argv.indexOf('--');
    const own = split < 0 ? argv : argv.slice(0, split);
    const command = split < 0 ? [] : argv.slice(split + 1);
    let values;
    try {
      ({ values } = parseArgs({
        args: own,
        strict: true,
        options: reportingOptions,
      }));
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (values.help) {
      stdout.write(`${usage}\n`);
      return 0;
    }
    if (values.list) {
      const listed = selectChecks(scenarios.map((scenario) => ({ ...scenario, section: 'CLIENT' })) as never, { only: values.only, skip: values.skip }) as unknown as typeof scenarios;
      stdout.write(listed.map((scenario) => `${scenario.id}  ${scenario.title}\n`).join(''));
      return 0;
    }
    const reporters = (values.reporter ?? ['pretty']).map(parseReporter);
    if (reporters.filter((reporter) => reporter.file === undefined).length > 1) throw new UsageError('--reporter: only one reporter may write to stdout');
    if (command.length === 0) throw new UsageError('missing the client command: put it after --');
    const progress = stderr.isTTY ? progressLine(stderr as NodeJS.WriteStream) : undefined;
    const timeoutScale = parseNumber('--timeout-scale', values['timeout-scale'], false);
    const concurrency = parseNumber('--concurrency', values.concurrency, true);
    const report = await runClientScenarios({
      command,
      only: values.only ?? [],
      skip: values.skip ?? [],
      strict: values.strict ?? false,
      ...(timeoutScale === undefined ? {} : { timeoutScale }),
      ...(concurrency === undefined ? {} : { concurrency }),
      ...(progress ? { onResult: progress.update } : {}),
    }).finally(() => progress?.clear());
    await writeReports(report, { reporters }, stdout, process.env);
    return exitCodeOf(report.summary);
  } catch (error) {
    if (error instanceof UsageError) {
      stderr.write(`xanjax conformance-client: ${error.message}\n\n${usage}\n`);
      return 2;
    }
    throw error;
  }
}
