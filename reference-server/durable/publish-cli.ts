// `xanjax publish --log LOG TOPIC [JSON]`: appends to a topic of a running (or later started)
// server from a shell script or cron job. Without JSON, every stdin line is one event.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { parseLogUrl } from './log-url.ts';
import { openPublisher } from './publish.ts';

const USAGE = `Usage: xanjax publish --log LOG TOPIC [JSON]

Appends events to topic TOPIC of the server(s) using event log LOG. With JSON, that one
value is the event's data; without it, each line of stdin is one JSON value (blank lines
are skipped), published as it arrives.

Options:
  --log LOG     file:DIR (the folder given to serve --log) or redis://HOST:PORT[/DB]
                (default: $XANJAX_LOG)
  --keep N      Redis: keep about N newest events of the topic (default 1000)
  -h, --help    show this help

Exit status: 0 when every event was handed over, 1 when the log is unavailable, 2 for bad
arguments or a line that is not JSON (events before it were published).`;

export async function main(argv: string[], input: NodeJS.ReadableStream = process.stdin): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { log: { type: 'string' }, keep: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    return usageError((error as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const log = values.log ?? process.env.XANJAX_LOG;
  if (!log) return usageError('--log is required (or set XANJAX_LOG)');
  try {
    if (parseLogUrl(log).kind === 'memory') return usageError('--log memory lives inside a server process; use file:DIR or redis://');
  } catch (error) {
    return usageError((error as Error).message);
  }
  if (positionals.length < 1 || positionals.length > 2) return usageError('expected TOPIC and at most one JSON value');
  const [topic, text] = positionals;
  const keep = values.keep === undefined ? undefined : Number(values.keep);
  if (keep !== undefined && (!Number.isSafeInteger(keep) || keep < 1)) return usageError(`--keep must be a positive integer, got '${values.keep}'`);
  let value: unknown;
  if (text !== undefined) {
    try {
      value = JSON.parse(text);
    } catch (error) {
      return usageError(`JSON argument is not valid JSON: ${(error as Error).message}`);
    }
  }
  let publisher;
  try {
    publisher = await openPublisher(log, keep === undefined ? {} : { keep });
  } catch (error) {
    return failure(error);
  }
  try {
    if (text !== undefined) {
      await publisher.publish(topic, value);
      return 0;
    }
    let lineNumber = 0;
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      lineNumber++;
      if (line.trim() === '') continue;
      let data: unknown;
      try {
        data = JSON.parse(line);
      } catch (error) {
        console.error(`xanjax publish: stdin line ${lineNumber} is not JSON: ${(error as Error).message}`);
        return 2;
      }
      await publisher.publish(topic, data);
    }
    return 0;
  } catch (error) {
    return failure(error);
  } finally {
    await publisher.close();
  }
}

function usageError(message: string): number {
  console.error(`xanjax publish: ${message}\n\n${USAGE}`);
  return 2;
}

function failure(error: unknown): number {
  if (error instanceof TypeError) return usageError(error.message);
  console.error(`xanjax publish: ${(error as Error).message}`);
  return 1;
}
