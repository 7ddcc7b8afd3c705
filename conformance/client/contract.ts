// The client kit's contract (spec §20.5): how the runner starts a client under test and
// reads what it delivers to its application, one JSON object per stdout line.
import { spawn } from 'node:child_process';

/** `stream`: the id (from SSP_STREAMS) of the stream a line concerns, when the client follows several. */
export type OutputLine = { stream?: string } & (
  | { seq: number; data: unknown }
  | { gap: { from: number; to: number } }
  | { restart: Record<string, unknown> }
  | { termination: { reason: string; last?: number } }
  | { error: { kind: string; message?: string } }
  | { unsupported: { feature: string; reason: string } }
);

/** One stream the client is asked to follow (SSP_STREAMS). */
export interface StreamSpec {
  id: string;
  stream: string;
  params: Record<string, unknown>;
}

/** One stdout line as a contract line, or why it is not one. */
export function parseLine(text: string): OutputLine | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return `not JSON: ${JSON.stringify(text.slice(0, 200))}`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `not a JSON object: ${text.slice(0, 200)}`;
  const line = value as Record<string, unknown>;
  if (line.stream !== undefined && typeof line.stream !== 'string') return `"stream" is not a string: ${text.slice(0, 200)}`;
  if (Number.isInteger(line.seq) && 'data' in line) return line as OutputLine;
  const gap = line.gap as { from?: unknown; to?: unknown } | undefined;
  if (gap && Number.isInteger(gap.from) && Number.isInteger(gap.to)) return line as OutputLine;
  if (typeof line.restart === 'object' && line.restart !== null) return line as OutputLine;
  if (typeof (line.termination as { reason?: unknown } | undefined)?.reason === 'string') return line as OutputLine;
  if (typeof (line.error as { kind?: unknown } | undefined)?.kind === 'string') return line as OutputLine;
  const unsupported = line.unsupported as { feature?: unknown; reason?: unknown } | undefined;
  if (typeof unsupported?.feature === 'string' && typeof unsupported.reason === 'string') return line as OutputLine;
  return `not an event, gap, restart, termination, error or unsupported line: ${text.slice(0, 200)}`;
}

export interface ClientProcessResult {
  lines: OutputLine[];
  /** Lines that break the contract. */
  invalid: string[];
  exitCode: number | null;
  timedOut: boolean;
  stderr: string;
}

export interface LaunchOptions {
  command: string[];
  endpoint: string;
  stream: string;
  params?: Record<string, unknown>;
  /** Request headers the client is given as credentials (SSP-CLIENT-28). */
  headers?: Record<string, string>;
  /** Several streams to follow (multiplex scenarios); default: the one stream. */
  streams?: StreamSpec[];
  timeoutMs: number;
  /** SIGINT the client once it printed this many event lines. */
  stopAfterEvents?: number;
}

/**
 * The §20.5 variables are always set: SSP_ENDPOINT, SSP_STREAM, SSP_PARAMS, SSP_HEADERS and
 * SSP_STREAMS (the one stream unless a scenario asks for several); `{endpoint}`, `{stream}`,
 * `{params}`, `{headers}` and `{streams}` in the arguments are replaced by the same values.
 */
export function launchClient(options: LaunchOptions): Promise<ClientProcessResult> {
  const variables: Record<string, string> = {
    SSP_ENDPOINT: options.endpoint,
    SSP_STREAM: options.stream,
    SSP_PARAMS: JSON.stringify(options.params ?? {}),
    SSP_HEADERS: JSON.stringify(options.headers ?? {}),
    SSP_STREAMS: JSON.stringify(options.streams ?? [{ id: '0', stream: options.stream, params: options.params ?? {} }]),
  };
  const substitute = (arg: string) => Object.entries(variables).reduce((text, [name, value]) => text.replaceAll(`{${name.slice(4).toLowerCase()}}`, value), arg);
  const [file, ...args] = options.command.map(substitute);
  return new Promise((resolve) => {
    const child = spawn(file!, args, { env: { ...process.env, ...variables }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const lines: OutputLine[] = [];
    const invalid: string[] = [];
    let stderr = '';
    let buffered = '';
    let events = 0;
    let timedOut = false;
    let stopped = false;
    const kill = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // Gone already.
      }
    };
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (text === '') continue;
        const line = parseLine(text);
        if (typeof line === 'string') invalid.push(line);
        else {
          lines.push(line);
          if ('seq' in line && ++events === options.stopAfterEvents && !stopped) {
            stopped = true;
            kill('SIGINT');
          }
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
    const timer = setTimeout(() => {
      timedOut = true;
      kill('SIGKILL');
    }, options.timeoutMs);
    child.once('error', (error) => {
      stderr += `\ncannot start the client: ${error.message}`;
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ lines, invalid, exitCode: timedOut ? null : code, timedOut, stderr });
    });
  });
}
