// (d) Debian's nginx with libnginx-mod-nchan, the native C reference: long-poll subscribers
// on one channel, one message per answer (`nchan`) or every available message in a
// multipart/mixed answer (`nchan-multipart`). nginx runs from its own config, pid and logs in
// a temporary folder; never the system service. Its CPU and RSS are read from /proc.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'undici';
import type { BenchEvent, Peer, PeerServer, PollResult, ServerUsage } from '../types.ts';

const NGINX = '/usr/sbin/nginx';
const MODULE = '/usr/lib/nginx/modules/ngx_nchan_module.so';
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function unavailable(): string | undefined {
  if (!existsSync(NGINX)) return `${NGINX} is not installed (apt-get install nginx)`;
  if (!existsSync(MODULE)) return `${MODULE} is not installed (apt-get install libnginx-mod-nchan)`;
  return undefined;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function config(dir: string, port: number, holdS: number): string {
  return `load_module ${MODULE};
daemon off;
worker_processes 1;
worker_rlimit_nofile 40000;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 30000; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  nchan_max_reserved_memory 256M;
  server {
    listen 127.0.0.1:${port};
    location = /pub { nchan_publisher; nchan_channel_id bench; nchan_message_buffer_length 100000; nchan_message_timeout 10m; }
    location = /sub { nchan_subscriber longpoll; nchan_channel_id bench; nchan_subscriber_timeout ${holdS}s; }
    location = /subm { nchan_subscriber longpoll; nchan_channel_id bench; nchan_subscriber_timeout ${holdS}s; nchan_longpoll_multipart_response on; }
    location = /status { nchan_stub_status; }
  }
}
`;
}

/** CPU (ticks → µs) and RSS of a process, from /proc. */
async function procUsage(pid: number): Promise<{ cpuMicros: number; rssBytes: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuMicros: (ticks * 1e6) / TICKS_PER_SECOND, rssBytes: rssKb * 1024 };
}

async function children(pid: number): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function startServer({ holdMs }: { holdMs: number }, subscribePath: string): Promise<PeerServer> {
  const dir = await mkdtemp(join(tmpdir(), 'xanjax-nchan-'));
  const port = await freePort();
  await writeFile(join(dir, 'nginx.conf'), config(dir, port, Math.ceil(holdMs / 1000)));
  const nginx: ChildProcess = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const origin = `http://127.0.0.1:${port}`;
  const control = new Pool(origin, { connections: 2 });
  // Publishes go in order over one pipelined connection: nchan numbers messages as they arrive.
  const publisher = new Client(origin, { pipelining: 32 });
  for (let i = 0; ; i++) {
    try {
      await (await control.request({ method: 'GET', path: '/status' })).body.text();
      break;
    } catch (error) {
      if (i > 100 || nginx.exitCode !== null) throw new Error(`nginx did not start: ${String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const pids = [nginx.pid as number, ...(await children(nginx.pid as number))];
  return {
    url: `${origin}${subscribePath}`,
    publish(event) {
      publisher
        .request({ method: 'POST', path: '/pub', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) })
        .then((res) => res.body.dump())
        .catch((error: unknown) => console.error('nchan publish failed:', error));
    },
    async held() {
      const text = await (await control.request({ method: 'GET', path: '/status' })).body.text();
      // Subscribers include the ones between two polls; nchan counts a long-poll subscriber while it waits.
      return Number(/subscribers:\s*(\d+)/.exec(text)?.[1] ?? 0);
    },
    async usage(): Promise<ServerUsage> {
      let cpuMicros = 0;
      let rssBytes = 0;
      for (const pid of pids) {
        const u = await procUsage(pid);
        cpuMicros += u.cpuMicros;
        rssBytes += u.rssBytes;
      }
      return { cpuMicros, rssBytes };
    },
    async close() {
      await Promise.all([control.close(), publisher.close()]);
      nginx.kill('SIGQUIT');
      await new Promise((resolve) => (nginx.exitCode !== null ? resolve(undefined) : nginx.once('exit', resolve)));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function session(url: string, origin: string, multipart: boolean) {
  const client = new Client(origin, { pipelining: 1, bodyTimeout: 0, headersTimeout: 0 });
  const path = new URL(url).pathname;
  let lastModified: string | undefined;
  let etag: string | undefined;
  return {
    async open() {},
    async poll(): Promise<PollResult> {
      const headers: Record<string, string> = {};
      if (lastModified !== undefined) headers['if-modified-since'] = lastModified;
      if (etag !== undefined) headers['if-none-match'] = etag;
      const res = await client.request({ method: 'GET', path, headers });
      const text = await res.body.text();
      if (res.statusCode === 304 || res.statusCode === 408) return { events: [], gap: 0 };
      if (res.statusCode !== 200) throw new Error(`nchan: ${res.statusCode} ${text}`);
      lastModified = res.headers['last-modified'] as string | undefined;
      etag = res.headers.etag as string | undefined;
      const type = String(res.headers['content-type'] ?? '');
      if (!multipart || !type.startsWith('multipart/')) return { events: [JSON.parse(text) as BenchEvent], gap: 0 };
      const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1];
      if (!boundary) throw new Error('nchan: multipart answer without boundary');
      const events: BenchEvent[] = [];
      for (const part of text.split(`--${boundary}`)) {
        const start = part.indexOf('\r\n\r\n');
        if (start < 0) continue;
        const body = part.slice(start + 4).trim();
        if (body) events.push(JSON.parse(body) as BenchEvent);
      }
      return { events, gap: 0 };
    },
    close: () => client.destroy(),
  };
}

export const nchan: Peer = {
  name: 'nchan',
  unavailable,
  startServer: (options) => startServer(options, '/sub'),
  session: (url, origin) => session(url, origin, false),
};

export const nchanMultipart: Peer = {
  name: 'nchan-multipart',
  unavailable,
  startServer: (options) => startServer(options, '/subm'),
  session: (url, origin) => session(url, origin, true),
};
