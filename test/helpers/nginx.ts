// Debian's nginx as a reverse proxy in front of a server under test: its own config, pid,
// logs and temp folders in a temporary directory, on a free loopback port, stopped after.
// The config is stock proxy_pass plus exactly the lines the README tells users to add.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NGINX = '/usr/sbin/nginx';
export const nginxAvailable = existsSync(NGINX);

/** The lines README "Behind a reverse proxy" documents, for a hold of at most `maxHoldMs`. */
export function documentedLines(maxHoldMs: number): string[] {
  return [
    'proxy_request_buffering off;',
    'proxy_buffering off;',
    `proxy_read_timeout ${Math.max(60, Math.ceil(maxHoldMs / 1000) + 30)}s;`,
    'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
  ];
}

export interface NginxOptions {
  /** Where nginx forwards, e.g. http://127.0.0.1:8080 (one or more upstream servers). */
  upstreams: string[];
  /** Lines inside `location /` after proxy_pass; default none (stock proxy_pass). */
  locationLines?: string[];
}

export interface RunningNginx {
  /** http://127.0.0.1:PORT */
  origin: string;
  port: number;
  dir: string;
  /** error.log so far (for failure messages). */
  errorLog(): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function config(dir: string, port: number, { upstreams, locationLines = [] }: NginxOptions): string {
  const servers = upstreams.map((upstream) => `    server ${new URL(upstream).host};`).join('\n');
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 4096; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream ssp_upstream {
${servers}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://ssp_upstream;
${locationLines.map((line) => `      ${line}`).join('\n')}
    }
  }
}
`;
}

async function waitForPort(port: number, child: ChildProcess, dir: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${readFileSync(join(dir, 'error.log'), 'utf8').slice(-2000)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error('nginx did not start listening within 10 s');
}

export async function startNginx(options: NginxOptions): Promise<RunningNginx> {
  const dir = mkdtempSync(join(tmpdir(), 'xanjax-nginx-'));
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), config(dir, port, options));
  writeFileSync(join(dir, 'error.log'), '');
  const child = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  try {
    await waitForPort(port, child, dir);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    dir,
    errorLog: () => readFileSync(join(dir, 'error.log'), 'utf8'),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGQUIT'); // graceful: finish in-flight requests
        const forced = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(forced);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
