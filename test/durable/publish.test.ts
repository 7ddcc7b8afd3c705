// `xanjax publish` and the library's publish(): what lands where, in the documented formats,
// before any server reads it. (Delivery into running servers: file-log and redis-log tests.)
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboxDir } from '../../reference-server/durable/file-spool.ts';
import { openPublisher, publish } from '../../reference-server/durable/publish.ts';
import { APPEND_SCRIPT, channelKeys, topicChannel } from '../../reference-server/durable/redis-format.ts';
import { startRedis } from '../support/redis-server.ts';
import type { RedisServer } from '../support/redis-server.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const xanjax = join(root, 'bin', 'xanjax.js');

/** Runs `xanjax publish …` with optional stdin; resolves to its exit code and stderr. */
function runPublish(args: string[], stdin?: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [xanjax, 'publish', ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

const inboxLines = (dir: string, topic: string) =>
  readdirSync(inboxDir(dir, topic))
    .sort()
    .flatMap((name) => readFileSync(join(inboxDir(dir, topic), name), 'utf8').split('\n').filter(Boolean))
    .map((line) => JSON.parse(line));

describe('publish to a file log', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  const temp = () => {
    const dir = mkdtempSync(join(tmpdir(), 'xanjax-pub-'));
    dirs.push(dir);
    return dir;
  };

  it('the library writes whole inbox files, in order, and leaves no temporary file', async () => {
    const dir = temp();
    await publish(`file:${dir}`, 'news', { n: 1 });
    const publisher = await openPublisher(`file:${dir}`);
    await publisher.publish('news', { n: 2 }, { n: 3 });
    await publisher.close();
    expect(inboxLines(dir, 'news')).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(readdirSync(inboxDir(dir, 'news')).every((name) => name.endsWith('.jsonl') && !name.startsWith('.'))).toBe(true);
  });

  it('the command publishes its JSON argument, or each stdin line; a bad line stops it with exit 2', async () => {
    const dir = temp();
    expect((await runPublish(['--log', `file:${dir}`, 'news', '{"n":1}'])).code).toBe(0);
    expect((await runPublish(['--log', `file:${dir}`, 'news'], '{"n":2}\n\n"three"\n')).code).toBe(0);
    const bad = await runPublish(['--log', `file:${dir}`, 'news'], '4\nnot json\n5\n');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('stdin line 2 is not JSON');
    expect(inboxLines(dir, 'news')).toEqual([{ n: 1 }, { n: 2 }, 'three', 4]);
  }, 120_000);

  it('rejects bad arguments with exit 2 and a reason', async () => {
    const dir = temp();
    expect((await runPublish(['news', '1'])).stderr).toContain('--log is required');
    const badTopic = await runPublish(['--log', `file:${dir}`, 'no spaces', '1']);
    expect(badTopic.code).toBe(2);
    expect(badTopic.stderr).toContain('not a valid stream name');
    expect((await runPublish(['--log', 'ftp://x', 'news', '1'])).code).toBe(2);
    expect((await runPublish(['--log', `file:${dir}`, 'news', '{oops'])).code).toBe(2);
  }, 120_000);
});

describe('publish to Redis', () => {
  let redis: RedisServer;
  let client: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.dispose();
  });

  it('appends entries n-0 with field data (JSON text), numbered 1, 2, 3, and announces the newest', async () => {
    const keys = channelKeys(topicChannel('prices'));
    expect(keys).toEqual({ log: 'xanjax:{topic:prices}:log', seq: 'xanjax:{topic:prices}:seq', wake: 'xanjax:{topic:prices}:wake', ack: 'xanjax:{topic:prices}:ack' });
    const subscriber = new Redis(redis.url);
    const wakes: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => wakes.push(message));
    await subscriber.subscribe(keys.wake);
    await publish(redis.url, 'prices', { p: 1 });
    expect((await runPublish(['--log', redis.url, 'prices'], '{"p":2}\n{"p":"é"}\n')).code).toBe(0);
    expect(await client.xrange(keys.log, '-', '+')).toEqual([
      ['1-0', ['data', '{"p":1}']],
      ['2-0', ['data', '{"p":2}']],
      ['3-0', ['data', '{"p":"é"}']],
    ]);
    expect(await client.get(keys.seq)).toBe('3');
    for (let i = 0; i < 100 && wakes.length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(wakes).toEqual(['1', '2', '3']);
    subscriber.disconnect();
  }, 120_000);

  it('needs no Node: redis-cli running the documented script appends the same way', async () => {
    const keys = channelKeys(topicChannel('shell'));
    const args = ['-p', String(redis.port), 'EVAL', APPEND_SCRIPT, '3', keys.log, keys.seq, keys.wake, '1000', '{"from":"shell"}', '[1,2]'];
    const { stdout } = await promisify(execFile)('redis-cli', args);
    expect(stdout.trim()).toBe('2');
    expect(await client.xrange(keys.log, '-', '+')).toEqual([
      ['1-0', ['data', '{"from":"shell"}']],
      ['2-0', ['data', '[1,2]']],
    ]);
  });

  it('an unreachable Redis makes the command exit 1 with the reason', async () => {
    await client.quit();
    await redis.stop();
    const result = await runPublish(['--log', redis.url, 'prices', '1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ECONNREFUSED|connect/i);
    await redis.start();
    client = new Redis(redis.url);
  }, 120_000);
});
