// --server-command (issue 9 §2): the runner starts the server under test itself, waits for
// its discovery document, and can stop it (SIGTERM, or SIGKILL) and start it again, so the
// restart, shutdown and resume requirements become observable. The command runs in its own
// process group (`sh -c`), so a signal reaches the server and not only the shell.
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'undici';
import { UsageError } from './errors.ts';

/** What a restart check may do to the server (CheckContext.server). */
export interface ServerControl {
  readonly command: string;
  /** Signal the server and wait until it exits (SIGKILL after `graceMs` if it does not). */
  stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<{ exitedWithin: number }>;
  /** Start it (again) and wait until it serves its discovery document; ms it took. */
  start(): Promise<number>;
  /** Whether the process is running. */
  readonly running: boolean;
  /** After a check: wait for a stop it left in progress, then start the server if it is down. */
  ensureRunning(): Promise<void>;
}

/** Longest a server may take to exit after SIGTERM before the runner kills it. */
export const graceMs = 10_000;
/** Longest a server may take, after its start, to serve its discovery document. */
export const startTimeoutMs = 30_000;

/** Thrown when the server under test does not come up: reported as a failure of the check that (re)started it. */
export class ServerStartError extends Error {
  readonly code = 'SERVER_START_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'ServerStartError';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ServerProcess implements ServerControl {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stopping: Promise<unknown> = Promise.resolve();
  /** The last lines the server wrote, shown when it fails to start. */
  #output: string[] = [];

  constructor(readonly command: string, readonly endpoint: URL, readonly scale = 1) {
    if (command.trim() === '') throw new UsageError('--server-command: empty command');
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async start(): Promise<number> {
    if (this.running) throw new Error('server already running');
    const started = performance.now();
    const child = spawn('sh', ['-c', this.command], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const keep = (chunk: Buffer) => {
      this.#output.push(...chunk.toString('utf8').split('\n').filter((line) => line.trim() !== ''));
      this.#output = this.#output.slice(-20);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const deadline = started + startTimeoutMs * this.scale;
    let last = 'not tried yet';
    while (performance.now() < deadline) {
      if (!this.running) throw new ServerStartError(`the server command exited (code ${child.exitCode}, signal ${child.signalCode}) before serving discovery: ${this.#tail()}`);
      last = await this.#discovery();
      if (last === 'ok') return Math.round(performance.now() - started);
      await sleep(50);
    }
    throw new ServerStartError(`no discovery document at ${this.endpoint.href} within ${Math.round(startTimeoutMs * this.scale)} ms of starting '${this.command}' (last attempt: ${last}): ${this.#tail()}`);
  }

  async ensureRunning(): Promise<void> {
    await this.#stopping;
    if (!this.running) await this.start();
  }

  stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<{ exitedWithin: number }> {
    const stopping = this.#stop(signal);
    this.#stopping = stopping.catch(() => {});
    return stopping;
  }

  async #stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<{ exitedWithin: number }> {
    const child = this.#child;
    const started = performance.now();
    if (!child || !this.running) return { exitedWithin: 0 };
    this.#signal(signal);
    const exited = await Promise.race([this.#exited.then(() => true), sleep(graceMs * this.scale).then(() => false)]);
    if (!exited) {
      this.#signal('SIGKILL');
      await this.#exited;
    }
    // The group may outlive the shell (a server started by `npx …`): make sure it is gone.
    this.#signal('SIGKILL');
    return { exitedWithin: Math.round(performance.now() - started) };
  }

  #signal(signal: NodeJS.Signals): void {
    const pid = this.#child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  }

  async #discovery(): Promise<string> {
    try {
      const response = await request(this.endpoint, { method: 'GET', signal: AbortSignal.timeout(2000) });
      const text = await response.body.text();
      if (response.statusCode !== 200) return `status ${response.statusCode}`;
      return (JSON.parse(text) as { type?: unknown }).type === 'discovery' ? 'ok' : 'not a discovery document';
    } catch (error) {
      return (error as Error).message;
    }
  }

  #tail(): string {
    return this.#output.length === 0 ? '(no output)' : `last output:\n${this.#output.join('\n')}`;
  }
}
