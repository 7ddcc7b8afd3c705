// `exec`: each session runs the configured shell command once; every stdout line is an
// event (data: the line). Exit 0 ends the stream `complete`; anything else ends it `error`
// with the exit code. stderr goes to the server's stderr, never into events. The command
// runs in its own process group so close, expiry and shutdown kill everything it started.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { StreamDefinition } from './types.ts';
import { StreamError } from './types.ts';

/** After SIGTERM, a process group still alive this long later gets SIGKILL. */
const KILL_GRACE_MS = 2000;

export interface ExecStream extends StreamDefinition<Record<string, never>> {
  /** Child processes alive now. */
  readonly running: number;
}

export function execStream(command: string, maxConcurrent: number): ExecStream {
  let running = 0;
  return {
    description: `Runs \`${command}\` once per session; each stdout line is an event (a string). Exit 0 completes, else error with the exit code.`,
    params: { type: 'object', additionalProperties: false },
    maxConcurrent,
    get running() {
      return running;
    },
    async *produce(_params, { signal }) {
      const child = spawn(command, { shell: true, detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
      running++;
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (code, exitSignal) => {
          running--;
          resolve({ code, signal: exitSignal });
        });
      });
      // Unhandled if the loop below throws first; the finally block still reaps the child.
      exited.catch(() => {});
      const kill = () => killGroup(child);
      signal.addEventListener('abort', kill, { once: true });
      try {
        if (child.stdout) {
          for await (const line of createInterface({ input: child.stdout, crlfDelay: Infinity })) yield line;
        }
        const { code, signal: exitSignal } = await exited;
        if (code !== 0) {
          const why = code === null ? `was killed by ${exitSignal}` : `exited with code ${code}`;
          throw new StreamError(`command ${why}`, { code: code === null ? `signal-${exitSignal}` : `exit-${code}`, advice: 'none' });
        }
      } finally {
        signal.removeEventListener('abort', kill);
        if (child.exitCode === null && child.signalCode === null) kill();
      }
    },
  };
}

/**
 * SIGTERM to the whole process group, then SIGKILL to whatever of it is left after the grace
 * period (the shell may be gone while a child that ignores SIGTERM lives on).
 */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  const pid = child.pid;
  signalGroup(pid, 'SIGTERM');
  setTimeout(() => signalGroup(pid, 'SIGKILL'), KILL_GRACE_MS).unref();
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}
