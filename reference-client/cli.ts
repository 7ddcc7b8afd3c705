// `xanjax tail <endpoint-url> <stream>`: print a stream's events as they arrive.
import { parseArgs } from 'node:util';
import type { StreamParams } from '../schemas/types.gen.ts';
import { SspProtocolError, SspTerminationError, SspTransportError, subscribe } from './node.ts';
import type { SspError, SspEvent, TerminationMessage } from './node.ts';

export const usage = `Usage: xanjax tail <endpoint-url> <stream> [--params JSON] [--format json|pretty|lines] [--retries N]

Subscribes to an SSP/1 stream and prints each event as it arrives.

Options:
  --params JSON    stream parameters, a JSON object, e.g. '{"count":5}'
  --format FORMAT  json (default): one {"seq":…,"data":…} object per line, ready for jq
                   pretty: time, seq and data, for people
                   lines: the client kit's event lines (spec §20.5): events as in json,
                   and {"gap":…}, {"restart":…}, {"termination":…}, {"error":…} lines
  --retries N      consecutive failed requests of a live session before giving up (default:
                   retry for up to 2 minutes, with backoff); opening the session is not retried
  -h, --help       show this help

Notices (retries, gaps, stream restarts) and the end of the stream go to stderr.
Ctrl-C closes the session on the server before exiting.

Exit status:
  0    the stream completed
  1    the stream ended otherwise (error, expired, closed, ...) or the server rejected the request
  2    usage error, or the endpoint is unreachable or does not speak SSP/1
  130  interrupted (Ctrl-C)`;

export interface TailIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Where SIGINT arrives (the process, or a stand-in in tests). */
  signals: NodeJS.EventEmitter;
}

export function main(argv: string[]): Promise<number> {
  return tail(argv, { stdout: process.stdout, stderr: process.stderr, signals: process });
}

type Format = 'json' | 'pretty' | 'lines';
type Options = { endpoint: string; stream: string; params: StreamParams; format: Format; retries?: number };

/** The kind of an error line (spec §20.5): authorization, protocol, server or transport. */
function errorKind(error: unknown): string {
  const { name, code } = error as { name?: string; code?: string };
  if (name === 'SspAuthError' || code === 'unauthorized' || code === 'forbidden') return 'auth';
  if (error instanceof SspProtocolError) return 'protocol';
  if (error instanceof SspTransportError) return 'transport';
  return 'server';
}

export async function tail(argv: string[], io: TailIo): Promise<number> {
  const say = (line: string) => io.stderr.write(`xanjax tail: ${line}\n`);
  let options: Options | 'help';
  try {
    options = parse(argv);
  } catch (error) {
    say(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (options === 'help') {
    io.stdout.write(`${usage}\n`);
    return 0;
  }
  const { endpoint, stream, params, format, retries } = options;

  const retry = retries === undefined ? {} : { maxAttempts: retries };
  const subscription = subscribe(endpoint, stream, params, { gaps: 'continue', retry });
  // Retries keep a session alive. Before one exists nothing can be lost by stopping, and a
  // wrong or unreachable endpoint is reported at once (exit status 2) instead of after minutes.
  let openFailed: SspError | undefined;
  subscription.on('retry', ({ delayMs, error }) => {
    if (subscription.signature !== undefined) return say(`${error.message}; retrying in ${delayMs} ms`);
    openFailed = error;
    stopped();
    void subscription.close();
  });
  const lines = format === 'lines';
  const line = (value: unknown) => io.stdout.write(`${JSON.stringify(value)}\n`);
  subscription.on('gap', (gap) => (lines ? line({ gap: { from: gap.from, to: gap.to } }) : say(`warning: ${gap.message}`)));
  subscription.on('restart', ({ cause, lastSeq }) => {
    const why = 'termination' in cause ? cause.termination.reason : cause.error.code;
    if (lines) line({ restart: { reason: why, lastSeq } });
    else say(`stream restarted: session ended (${why}) after seq ${lastSeq}; a new session starts again at seq 1: events may repeat or be missing`);
  });

  let interrupted = false;
  let outputClosed = false;
  let stopped!: () => void;
  const stop = new Promise<void>((resolve) => (stopped = resolve));
  const onSigint = () => {
    interrupted = true;
    stopped();
    void subscription.close();
  };
  // A reader that went away (`| head`) ends the tail quietly.
  const onWriteError = () => {
    outputClosed = true;
    stopped();
    void subscription.close();
  };
  io.signals.once('SIGINT', onSigint);
  io.stdout.on('error', onWriteError);
  const failure = (error: unknown): number => {
    if (lines) line({ error: { kind: errorKind(error), message: error instanceof Error ? error.message : String(error) } });
    say(error instanceof Error ? error.message : String(error));
    return error instanceof SspTransportError || error instanceof SspProtocolError ? 2 : 1;
  };
  try {
    for await (const event of subscription) {
      if (outputClosed) break;
      if (!io.stdout.write(`${format === 'pretty' ? pretty(event) : JSON.stringify({ seq: event.seq, data: event.data })}\n`)) {
        await drained(io.stdout, stop);
      }
    }
    if (interrupted) {
      say('interrupted: session closed');
      return 130;
    }
    if (openFailed) return failure(openFailed);
    if (outputClosed) return 0;
    const termination = await subscription.termination;
    if (lines) line({ termination: { reason: termination.reason, last: termination.last } });
    return ended(termination, say, format);
  } catch (error) {
    if (interrupted) return 130;
    if (openFailed) return failure(openFailed);
    if (error instanceof SspTerminationError) {
      if (lines) line({ termination: { reason: error.termination.reason, last: error.termination.last } });
      return ended(error.termination, say, format);
    }
    return failure(error);
  } finally {
    io.signals.off('SIGINT', onSigint);
    io.stdout.off('error', onWriteError);
    await subscription.close();
  }
}

/** Waits for a full output to drain (backpressure reaches the subscription), or for the tail to stop. */
function drained(stream: NodeJS.WritableStream, stop: Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      resolve();
    };
    stream.once('drain', done);
    void stop.then(done);
  });
}

function ended(termination: TerminationMessage, say: (line: string) => void, format: Format): number {
  if (termination.reason === 'complete') {
    if (format === 'pretty') say(`stream complete (last seq ${termination.last})`);
    return 0;
  }
  const why = termination.error ? `: ${termination.error.message}` : '';
  say(`stream ended: ${termination.reason}${why}`);
  return 1;
}

function pretty({ seq, data }: SspEvent): string {
  const time = new Date().toISOString().slice(11, 23);
  return `${time}  #${seq}  ${typeof data === 'string' ? data : JSON.stringify(data)}`;
}

function parse(argv: string[]): Options | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      params: { type: 'string' },
      format: { type: 'string', default: 'json' },
      retries: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const [endpoint, stream, ...extra] = positionals;
  if (endpoint === undefined || stream === undefined) throw new Error('expected <endpoint-url> and <stream>');
  if (extra.length > 0) throw new Error(`unexpected argument '${extra[0]}'`);
  if (!/^https?:$/.test(URL.canParse(endpoint) ? new URL(endpoint).protocol : '')) throw new Error(`'${endpoint}' is not an http(s) URL`);
  if (values.format !== 'json' && values.format !== 'pretty' && values.format !== 'lines') throw new Error(`--format must be json, pretty or lines, not '${values.format}'`);
  let params: unknown = {};
  if (values.params !== undefined) {
    try {
      params = JSON.parse(values.params);
    } catch {
      throw new Error(`--params is not valid JSON: ${values.params}`);
    }
    if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new Error('--params must be a JSON object');
  }
  const retries = values.retries === undefined ? undefined : Number(values.retries);
  if (retries !== undefined && !(Number.isInteger(retries) && retries >= 0)) throw new Error(`--retries must be an integer >= 0, not '${values.retries}'`);
  return { endpoint, stream, params: params as StreamParams, format: values.format, ...(retries === undefined ? {} : { retries }) };
}
