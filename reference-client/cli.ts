// `xanjax tail <endpoint-url> <stream>`: print a stream's events as they arrive.
import { parseArgs } from 'node:util';
import type { StreamParams } from '../schemas/types.gen.ts';
import { SspProtocolError, SspServerError, SspTerminationError, SspTransportError, subscribe } from './node.ts';
import type { SspError, SspEvent, Subscription, TerminationMessage } from './node.ts';

export const usage = `Usage: xanjax tail <endpoint-url> <stream> [--params JSON] [--format json|pretty|lines] [--retries N]
       xanjax tail <endpoint-url> --streams JSON [options]

Subscribes to an SSP/1 stream (or several) and prints each event as it arrives.

Options:
  --params JSON    stream parameters, a JSON object, e.g. '{"count":5}'
  --streams JSON   several streams at once: [{"id":"a","stream":"ticker","params":{…}}, …];
                   they share one session when the server offers multiplex (spec §23), and
                   each line names its stream ("stream": id). Replaces <stream> and --params
  --headers JSON   request headers sent with every request (credentials), a JSON object,
                   e.g. '{"authorization":"Bearer …"}'
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
  0    the stream completed (every stream, with --streams)
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
/** One stream to follow; `id` names it in the output when there are several. */
type Followed = { id?: string; stream: string; params: StreamParams };
type Options = { endpoint: string; streams: Followed[]; headers: Record<string, string>; format: Format; retries?: number };

/** The kind of an error line (spec §20.5): authorization, protocol, the request's or the server's fault, transport. */
function errorKind(error: unknown): string {
  const { name, code } = error as { name?: string; code?: string };
  if (name === 'SspAuthError' || code === 'unauthorized' || code === 'forbidden') return 'auth';
  if (error instanceof SspProtocolError) return 'protocol';
  if (error instanceof SspTransportError) return 'transport';
  if (error instanceof SspServerError && error.status < 500) return 'request';
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
  const { endpoint, streams, headers, format, retries } = options;
  const retry = retries === undefined ? {} : { maxAttempts: retries };
  const subscriptions = streams.map(({ stream, params }) => subscribe(endpoint, stream, params, { gaps: 'continue', retry, headers }));

  let interrupted = false;
  let outputClosed = false;
  let stopped!: () => void;
  const stop = new Promise<void>((resolve) => (stopped = resolve));
  const closeAll = () => {
    stopped();
    for (const subscription of subscriptions) void subscription.close();
  };
  const onSigint = () => {
    interrupted = true;
    closeAll();
  };
  // A reader that went away (`| head`) ends the tail quietly.
  const onWriteError = () => {
    outputClosed = true;
    closeAll();
  };
  io.signals.once('SIGINT', onSigint);
  io.stdout.on('error', onWriteError);
  const state = { interrupted: () => interrupted, outputClosed: () => outputClosed, stop, closeAll };
  try {
    const codes = await Promise.all(subscriptions.map((subscription, i) => follow(subscription, streams[i]!.id, format, io, say, state)));
    if (interrupted) {
      say('interrupted: session closed');
      return 130;
    }
    return Math.max(...codes);
  } finally {
    io.signals.off('SIGINT', onSigint);
    io.stdout.off('error', onWriteError);
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
  }
}

interface TailState {
  interrupted(): boolean;
  outputClosed(): boolean;
  stop: Promise<void>;
  closeAll(): void;
}

/** Prints one subscription's events (and, in lines format, its notices and end); its exit status. */
async function follow(subscription: Subscription, id: string | undefined, format: Format, io: TailIo, say: (line: string) => void, state: TailState): Promise<number> {
  const lines = format === 'lines';
  const tag = id === undefined ? {} : { stream: id };
  const line = (value: object) => io.stdout.write(`${JSON.stringify({ ...tag, ...value })}\n`);
  const named = (text: string) => (id === undefined ? text : `${id}: ${text}`);
  // Retries keep a session alive. Before one exists nothing can be lost by stopping, and a
  // wrong or unreachable endpoint is reported at once (exit status 2) instead of after minutes.
  let openFailed: SspError | undefined;
  subscription.on('retry', ({ delayMs, error }) => {
    if (subscription.signature !== undefined) return say(named(`${error.message}; retrying in ${delayMs} ms`));
    openFailed = error;
    state.closeAll();
  });
  subscription.on('gap', (gap) => (lines ? line({ gap: { from: gap.from, to: gap.to } }) : say(named(`warning: ${gap.message}`))));
  subscription.on('restart', ({ cause, lastSeq }) => {
    const why = 'termination' in cause ? cause.termination.reason : cause.error.code;
    if (lines) line({ restart: { reason: why, lastSeq } });
    else say(named(`stream restarted: session ended (${why}) after seq ${lastSeq}; a new session starts again at seq 1: events may repeat or be missing`));
  });
  const failure = (error: unknown): number => {
    if (lines) line({ error: { kind: errorKind(error), message: error instanceof Error ? error.message : String(error) } });
    say(named(error instanceof Error ? error.message : String(error)));
    return error instanceof SspTransportError || error instanceof SspProtocolError ? 2 : 1;
  };
  const ended = (termination: TerminationMessage): number => {
    if (lines) line({ termination: { reason: termination.reason, last: termination.last } });
    return end(termination, (text) => say(named(text)), format);
  };
  try {
    for await (const event of subscription) {
      if (state.outputClosed()) break;
      const text = format === 'pretty' ? pretty(event, id) : JSON.stringify({ ...tag, seq: event.seq, data: event.data });
      if (!io.stdout.write(`${text}\n`)) await drained(io.stdout, state.stop);
    }
    if (state.interrupted()) {
      // SSP-CLIENT-30: the session's end is the termination that answered the close.
      if (lines) await subscription.termination.then((termination) => line({ termination: { reason: termination.reason, last: termination.last } }), () => {});
      return 130;
    }
    if (openFailed) return failure(openFailed);
    if (state.outputClosed()) return 0;
    return ended(await subscription.termination);
  } catch (error) {
    if (state.interrupted()) return 130;
    if (openFailed) return failure(openFailed);
    if (error instanceof SspTerminationError) return ended(error.termination);
    return failure(error);
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

function end(termination: TerminationMessage, say: (line: string) => void, format: Format): number {
  if (termination.reason === 'complete') {
    if (format === 'pretty') say(`stream complete (last seq ${termination.last})`);
    return 0;
  }
  const why = termination.error ? `: ${termination.error.message}` : '';
  say(`stream ended: ${termination.reason}${why}`);
  return 1;
}

function pretty({ seq, data }: SspEvent, id: string | undefined): string {
  const time = new Date().toISOString().slice(11, 23);
  return `${time}  ${id === undefined ? '' : `${id} `}#${seq}  ${typeof data === 'string' ? data : JSON.stringify(data)}`;
}

function parse(argv: string[]): Options | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      params: { type: 'string' },
      streams: { type: 'string' },
      headers: { type: 'string' },
      format: { type: 'string', default: 'json' },
      retries: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const [endpoint, stream, ...extra] = positionals;
  const several = values.streams !== undefined ? jsonOption('--streams', values.streams) : undefined;
  if (endpoint === undefined || (stream === undefined && several === undefined)) throw new Error('expected <endpoint-url> and <stream> (or --streams)');
  if (extra.length > 0) throw new Error(`unexpected argument '${extra[0]}'`);
  if (!/^https?:$/.test(URL.canParse(endpoint) ? new URL(endpoint).protocol : '')) throw new Error(`'${endpoint}' is not an http(s) URL`);
  if (values.format !== 'json' && values.format !== 'pretty' && values.format !== 'lines') throw new Error(`--format must be json, pretty or lines, not '${values.format}'`);
  const params = values.params === undefined ? {} : jsonOption('--params', values.params);
  if (!isObject(params)) throw new Error('--params must be a JSON object');
  const headers = values.headers === undefined ? {} : jsonOption('--headers', values.headers);
  if (!isObject(headers) || !Object.values(headers).every((value) => typeof value === 'string')) throw new Error('--headers must be a JSON object of strings');
  const streams = several === undefined ? [{ stream: stream!, params: params as StreamParams }] : followedStreams(several);
  // One stream of a --streams list is followed like <stream>: its lines name no stream.
  if (streams.length === 1) delete streams[0]!.id;
  const retries = values.retries === undefined ? undefined : Number(values.retries);
  if (retries !== undefined && !(Number.isInteger(retries) && retries >= 0)) throw new Error(`--retries must be an integer >= 0, not '${values.retries}'`);
  return { endpoint, streams, headers: headers as Record<string, string>, format: values.format, ...(retries === undefined ? {} : { retries }) };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function jsonOption(option: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${option} is not valid JSON: ${text}`);
  }
}

function followedStreams(value: unknown): Followed[] {
  const problem = '--streams must be a non-empty JSON array of {"id", "stream", "params"?} with distinct ids';
  if (!Array.isArray(value) || value.length === 0) throw new Error(problem);
  const streams = value.map((entry): Followed => {
    if (!isObject(entry) || typeof entry.id !== 'string' || typeof entry.stream !== 'string' || (entry.params !== undefined && !isObject(entry.params))) throw new Error(problem);
    return { id: entry.id, stream: entry.stream, params: (entry.params ?? {}) as StreamParams };
  });
  if (new Set(streams.map((entry) => entry.id)).size !== streams.length) throw new Error(problem);
  return streams;
}
