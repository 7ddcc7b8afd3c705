// A benchmark child process (server or load generator) spoken to over IPC. Children start
// through a shell that raises the open-files limit to its hard limit: 18,000 held sessions
// need 18,000 sockets on each side.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

type Message = { type: string; [key: string]: any };

export class Child {
  readonly #process: ChildProcess;
  readonly #waiting = new Map<string, Array<(message: Message) => void>>();
  #exited: string | undefined;
  onProgress: ((message: Message) => void) | undefined;

  constructor(script: string, args: string[], nodeFlags: string[] = []) {
    const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
    const command = [process.execPath, ...nodeFlags, '--import', 'tsx', `${here}${script}`, ...args].map(quote).join(' ');
    this.#process = spawn('/bin/sh', ['-c', `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec ${command}`], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#process.on('message', (message: Message) => {
      if (message.type === 'progress') return this.onProgress?.(message);
      const waiters = this.#waiting.get(message.type);
      const waiter = waiters?.shift();
      if (waiter) waiter(message);
      else if (message.type === 'failed') this.#fail(`child failed: ${message.error}`);
    });
    this.#process.on('exit', (code, signal) => this.#fail(`${script} exited (${code ?? signal})`));
    // A send to a child that just died reports here, not as an uncaught error of the run.
    this.#process.on('error', (error) => this.#fail(`${script}: ${error.message}`));
  }

  #fail(why: string): void {
    this.#exited ??= why;
    for (const [type, waiters] of this.#waiting) {
      if (type === '__error') continue;
      for (const waiter of waiters.splice(0)) waiter({ type: '__error', why });
    }
  }

  /** The next message of that type (or an error if the child dies first), within timeoutMs. */
  next(type: string, timeoutMs = 120_000): Promise<Message> {
    if (this.#exited) return Promise.reject(new Error(this.#exited));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no '${type}' from child within ${timeoutMs} ms`)), timeoutMs);
      const waiters = this.#waiting.get(type) ?? [];
      this.#waiting.set(type, waiters);
      waiters.push((message) => {
        clearTimeout(timer);
        if (message.type === '__error') reject(new Error(message.why));
        else resolve(message);
      });
    });
  }

  send(message: object): void {
    if (this.#exited || !this.#process.connected) return;
    this.#process.send(message);
  }

  ask(message: object, type: string, timeoutMs?: number): Promise<Message> {
    const answer = this.next(type, timeoutMs);
    this.send(message);
    return answer;
  }

  /** Asks the child to close; kills it if it does not exit in time. */
  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise((resolve) => this.#process.once('exit', resolve));
    this.send({ cmd: 'close' });
    const timer = setTimeout(() => this.#process.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
