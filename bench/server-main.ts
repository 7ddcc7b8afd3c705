// A peer's server in its own process (started by run.ts with --expose-gc): publishes on
// command, and reports the CPU and memory of whatever serves (this process, or nginx).
import { peerNamed } from './peers/index.ts';
import type { BenchEvent, PeerOptions, ServerCommand, ServerUsage } from './types.ts';
import { now } from './types.ts';

const [name, optionsJson] = process.argv.slice(2);
const peer = peerNamed(name);
const options = JSON.parse(optionsJson) as PeerOptions;
const server = await peer.startServer(options);
const send = (message: unknown) => process.send?.(message);
let published = 0;

function publishOne(): void {
  const event: BenchEvent = { i: ++published, t: now() };
  server.publish(event);
}

async function usage(gc: boolean): Promise<ServerUsage> {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (gc && collect) {
    collect();
    await new Promise((resolve) => setImmediate(resolve));
    collect();
  }
  if (server.usage) return server.usage();
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  return { cpuMicros: cpu.user + cpu.system, heapBytes: memory.heapUsed, rssBytes: memory.rss };
}

/** `count` events, one every intervalMs (0: all at once); answers when the last is published. */
async function publish(count: number, intervalMs: number): Promise<void> {
  if (intervalMs === 0) {
    for (let i = 0; i < count; i++) publishOne();
    return;
  }
  // Catch up on the schedule after a late timer, so the rate holds under load.
  const start = performance.now();
  for (let i = 0; i < count; ) {
    const due = Math.floor((performance.now() - start) / intervalMs) + 1;
    while (i < count && i < due) {
      publishOne();
      i++;
    }
    if (i < count) await new Promise((resolve) => setTimeout(resolve, Math.max(0, start + i * intervalMs - performance.now())));
  }
}

process.on('message', (message: ServerCommand) => {
  void (async () => {
    switch (message.cmd) {
      case 'publish':
        await publish(message.count, message.intervalMs);
        return send({ type: 'published', last: published });
      case 'usage':
        return send({ type: 'usage', usage: await usage(message.gc) });
      case 'held':
        return send({ type: 'held', held: await server.held() });
      case 'close':
        await server.close();
        send({ type: 'closed' });
        process.exit(0);
    }
  })().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
});
send({ type: 'ready', url: server.url });
