// `xanjax serve`: run the reference SSP/1 server until SIGINT/SIGTERM.
// stdout gets exactly one line, the endpoint URL; every other notice goes to stderr.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { bearerToken, clientKeyFromForwardedFor, createServer } from './index.ts';
import type { Limits, ListenOptions } from './index.ts';
import { DEMO_TOPIC, publishHint } from './demo/serve.ts';
import { parseLogUrl, shownLocation } from './durable/log-url.ts';
import { demoTicker } from './streams/demo-ticker.ts';

const USAGE = `Usage: xanjax serve [options]

Runs the reference SSP/1 server and prints its endpoint URL on one line:
  xanjax: SSP/1 endpoint http://127.0.0.1:8080/ssp

Options:
  --port N            listen port (default 8080; 0 picks a free port)
  --host H            listen address (default 127.0.0.1)
  --path P            endpoint path (default /ssp)
  --conformance       offer the annex streams ssp.* with short limits (for xanjax conformance)
  --demo              serve a live demo page at /, and offer the topic 'news' that a second
                      terminal publishes into (xanjax publish --log file:DIR news JSON)
  --exec CMD          offer stream 'exec': CMD runs once per session, one event per stdout line
  --max-exec N        most exec processes at once (default 16)
  --secret S          signature secret (default: $XANJAX_SECRET, else random per start)
  --previous-secret S a retired secret whose unexpired signatures are still accepted;
                      repeatable (default: $XANJAX_PREVIOUS_SECRETS, comma-separated)
  --max-sessions N    most live sessions (default 10000)
  --max-sessions-per-client N
                      most live sessions per client address (default 100)
  --auth-token T      require 'Authorization: Bearer T' on every open, poll and close
                      (401 unauthorized otherwise; discovery and preflights stay open)
                      (default: $XANJAX_AUTH_TOKEN)
  --trust-proxy       take the client address from the last X-Forwarded-For entry (the one
                      the proxy appended), for requests from a proxy on this machine only
                      (loopback peer); the proxy must append, e.g. nginx
                      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for
  --log LOG           where events, sessions and terminations live: memory (default, gone
                      with the process), file:DIR (survives restarts and crashes; one
                      server per folder) or redis://HOST:PORT[/DB] (shared by instances)
  --topic NAME        offer topic stream NAME, fed by \`xanjax publish\`; repeatable
  --fsync-ms MS       file log: fsync period (default 1000; 0 = after every event)
  --tls-cert FILE     serve HTTPS with this PEM certificate (chain): HTTP/2, and HTTP/1.1
                      for clients without it (ALPN); needs --tls-key
  --tls-key FILE      the certificate's PEM private key
  --hold MS           limits.maxHoldMs
  --idle MS           limits.idleTimeoutMs
  --retain N          limits.retainEvents
  -h, --help          show this help

Streams: 'ticker' (a live demo feed) always; 'news' with --demo; ssp.* with --conformance;
exec with --exec; each --topic NAME.
The browser client is served as an ES module at /xanjax-client.js in every mode.
Durability of --log file:DIR: every event is written to its segment file before any client
can read it, so a crash or SIGKILL loses nothing a client was sent or publish accepted, and
a restart on DIR with the same --secret resumes every session. Files are fsync'ed every
--fsync-ms and at shutdown: an OS crash or power loss can lose the last period. A full or
read-only disk is answered with 'unavailable' (Retry-After) until writes succeed again.
With redis://, events are as durable as that Redis server's own persistence.
SIGINT/SIGTERM shut down gracefully: held polls are answered with termination 'shutdown'
advising to resume. With the same --secret a restart honours the signatures of the previous
run, but with the memory log (events and terminations kept in memory) answers those of
sessions it does not know with 'unavailable' for idle + hold after it starts, so that a
closed session is never brought back (SSP-SIGNATURE-14); those clients then open new
sessions. A file or Redis log remembers terminations, so it needs no such wait.
Key rotation: restart with --secret NEW --previous-secret OLD. New signatures use NEW and
clients holding OLD signatures resume; drop OLD once those have expired (idle + hold).
A file or Redis log records the ids of the keys its servers signed with (never the secrets),
and each start says which previous secret is still needed and until when, which can be
dropped, and which key it no longer accepts although sessions signed with it may be polled.`;

export async function main(argv: string[]): Promise<number> {
  let options: ListenOptions & { host: string; port: number };
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (error === HELP) {
      console.log(USAGE);
      return 0;
    }
    console.error(`xanjax serve: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options.secret === undefined) {
    console.error('xanjax: no --secret or XANJAX_SECRET: using a random secret, so signatures die with this process (no resume across restarts)');
  }
  let server;
  try {
    server = await createServer(options);
  } catch (error) {
    console.error(`xanjax serve: cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`);
    return 1;
  }
  console.log(`xanjax: SSP/1 endpoint ${server.url}`);
  if (options.demo) {
    console.error(`xanjax: demo page ${new URL('/', server.url).href}`);
    const hint = publishHint(options.log === undefined ? undefined : shownLocation(parseLogUrl(options.log)));
    console.error(`xanjax: ${hint.note.replace(/ above/, ' on the page')}\n${hint.command}`);
  }
  let onSignal!: (signal: NodeJS.Signals) => void;
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    onSignal = resolve;
    process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  });
  process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  console.error(`xanjax: ${signal}: shutting down`);
  await server.close();
  return 0;
}

const HELP = Symbol('help');

export function parseOptions(argv: string[], env = process.env): ListenOptions & { host: string; port: number } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      path: { type: 'string' },
      conformance: { type: 'boolean' },
      demo: { type: 'boolean' },
      exec: { type: 'string' },
      'max-exec': { type: 'string' },
      secret: { type: 'string' },
      'previous-secret': { type: 'string', multiple: true },
      'max-sessions': { type: 'string' },
      'max-sessions-per-client': { type: 'string' },
      'trust-proxy': { type: 'boolean' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'auth-token': { type: 'string' },
      hold: { type: 'string' },
      idle: { type: 'string' },
      retain: { type: 'string' },
      log: { type: 'string' },
      topic: { type: 'string', multiple: true },
      'fsync-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) throw HELP;
  const path = values.path ?? '/ssp';
  if (!path.startsWith('/')) throw new Error(`--path must start with '/', got '${path}'`);
  const limits: Partial<Limits> = {};
  if (values.hold !== undefined) limits.maxHoldMs = integer('--hold', values.hold, 1);
  if (values.idle !== undefined) limits.idleTimeoutMs = integer('--idle', values.idle, 1);
  if (values.retain !== undefined) limits.retainEvents = integer('--retain', values.retain, 1);
  if (values.log !== undefined) parseLogUrl(values.log);
  const secret = values.secret ?? (env.XANJAX_SECRET || undefined);
  const previous = values['previous-secret'] ?? (env.XANJAX_PREVIOUS_SECRETS ?? '').split(',').filter((s) => s !== '');
  const authToken = values['auth-token'] ?? (env.XANJAX_AUTH_TOKEN || undefined);
  if (authToken !== undefined && !/^[\x21-\x7e]+$/.test(authToken)) throw new Error('--auth-token must be printable ASCII without spaces');
  if (previous.length > 0 && secret === undefined) throw new Error('--previous-secret (or XANJAX_PREVIOUS_SECRETS) needs --secret (or XANJAX_SECRET)');
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new Error('--tls-cert and --tls-key go together');
  return {
    ...(values['tls-cert'] !== undefined && { tls: { cert: readPem('--tls-cert', values['tls-cert']), key: readPem('--tls-key', values['tls-key']!) } }),
    host: values.host ?? '127.0.0.1',
    port: values.port === undefined ? 8080 : integer('--port', values.port, 0, 65535),
    path,
    conformance: values.conformance ?? false,
    demo: values.demo ?? false,
    exec: values.exec,
    maxExec: values['max-exec'] === undefined ? undefined : integer('--max-exec', values['max-exec'], 1),
    secret: secret === undefined || previous.length === 0 ? secret : [secret, ...previous],
    maxSessions: values['max-sessions'] === undefined ? undefined : integer('--max-sessions', values['max-sessions'], 1),
    maxSessionsPerClient:
      values['max-sessions-per-client'] === undefined ? undefined : integer('--max-sessions-per-client', values['max-sessions-per-client'], 1),
    clientKey: values['trust-proxy'] ? clientKeyFromForwardedFor : undefined,
    authorize: authToken === undefined ? undefined : bearerToken(authToken),
    limits,
    streams: { ticker: demoTicker },
    // The demo offers a topic too, so a second terminal can publish into it.
    ...((values.topic || values.demo) && { topics: [...new Set([...(values.topic ?? []), ...(values.demo ? [DEMO_TOPIC] : [])])] }),
    ...(values.log !== undefined && { log: values.log }),
    ...(values['fsync-ms'] !== undefined && { fsyncIntervalMs: integer('--fsync-ms', values['fsync-ms'], 0) }),
  };
}

function readPem(option: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(`${option}: cannot read '${file}': ${(error as Error).message}`);
  }
}

function integer(name: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got '${text}'`);
  return value;
}
