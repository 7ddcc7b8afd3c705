// Signing-key ids live with the durable logs (issue 10 §1): a restart on the same folder with
// the same secret resumes every session; a rotation (--secret NEW --previous-secret OLD) is
// recorded, survives restarts, and each start tells the operator which previous secret is
// still needed and which key it no longer accepts. Redis shares the records between instances.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FileEventLog } from '../../reference-server/durable/file-log.ts';
import { RedisEventLog } from '../../reference-server/durable/redis-log.ts';
import { KEY_RECORD_PERIOD_MS, keyAdvice } from '../../reference-server/durable/signing-keys.ts';
import { createServer } from '../../reference-server/index.ts';
import type { Secrets } from '../../reference-server/signature.ts';
import { Signer } from '../../reference-server/signature.ts';
import { open, poll } from '../server/helpers.ts';
import { startRedis } from '../support/redis-server.ts';
import type { RedisServer } from '../support/redis-server.ts';

const idOf = (secret: string) => new Signer(secret).signingKeyId;

describe('signing-key ids in the file log', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'xanjax-keys-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => vi.restoreAllMocks());

  /** Runs a server on the folder, returns what it said on stderr once `work` is done. */
  async function run(secret: Secrets, work: (url: string, publish: (n: number) => void) => Promise<void>): Promise<string[]> {
    const said: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => void said.push(String(line)));
    const server = await createServer({ port: 0, secret, log: `file:${dir}`, topics: ['news'] });
    try {
      await work(server.url, (n) => server.publish('news', { n }));
    } finally {
      await server.close();
      vi.restoreAllMocks();
    }
    return said;
  }

  it('resumes with the same secret, records a rotation and says what each earlier key needs', async () => {
    let sig = '';
    await run('alpha', async (url, publish) => {
      sig = await open(url, 'news');
      publish(1);
      const reply = await poll(url, sig, 2000);
      expect(reply.json.events.map((e: { data: { n: number } }) => e.data.n)).toEqual([1]);
      sig = reply.json.sig;
    });
    // Restart, same secret: the signature resumes the session; no advice (one key so far).
    const again = await run('alpha', async (url, publish) => {
      publish(2);
      const reply = await poll(url, sig, 2000);
      expect(reply.status).toBe(200);
      expect(reply.json.events.map((e: { seq: number; data: { n: number } }) => [e.seq, e.data.n])).toEqual([[2, 2]]);
      sig = reply.json.sig;
    });
    expect(again.filter((line) => line.includes('signing keys'))).toEqual([]);
    // Rotation: signatures of the previous secret still work, and the start says until when it is needed.
    const rotated = await run(['beta', 'alpha'], async (url) => {
      expect((await poll(url, sig, 0)).status).toBe(200);
    });
    expect(rotated.some((line) => line.includes(`previous secret with key id ${idOf('alpha')} is needed until`))).toBe(true);
    // The records survive in the folder: both ids, in the order they were first used.
    const log = new FileEventLog(dir);
    try {
      const keys = log.sessions.signingKeys();
      expect(keys.map((key) => key.id).sort()).toEqual([idOf('alpha'), idOf('beta')].sort());
      const [alpha, beta] = [idOf('alpha'), idOf('beta')].map((id) => keys.find((key) => key.id === id)!);
      expect(alpha.firstSigned).toBeLessThanOrEqual(beta.firstSigned);
      expect(alpha.lastSigned).toBeGreaterThanOrEqual(alpha.firstSigned);
    } finally {
      log.close();
    }
    // A secret changed without --previous-secret: the start warns that those sessions must reopen.
    const changed = await run('gamma', async (url) => {
      expect((await poll(url, sig, 0)).json.code).toBe('invalid-signature');
    });
    for (const id of [idOf('alpha'), idOf('beta')]) {
      expect(changed.some((line) => line.includes(`signed with key id ${id}`) && line.includes('does not accept'))).toBe(true);
    }
  }, 60_000);

  it('tells when a previous secret can be dropped: every signature made with it has expired', () => {
    const signer = new Signer(['new', 'old']);
    const lifetime = 30_000;
    const lastSigned = 1_000_000;
    const old = { id: idOf('old'), firstSigned: 0, lastSigned };
    expect(keyAdvice(old, signer, lifetime, lastSigned + KEY_RECORD_PERIOD_MS + lifetime - 1)).toContain('is needed until');
    expect(keyAdvice(old, signer, lifetime, lastSigned + KEY_RECORD_PERIOD_MS + lifetime)).toContain('no longer needed');
    // A key neither signed with nor accepted, whose signatures have all expired: nothing to say.
    expect(keyAdvice({ ...old, id: idOf('older') }, signer, lifetime, lastSigned + KEY_RECORD_PERIOD_MS + lifetime)).toBeUndefined();
    expect(keyAdvice({ ...old, id: idOf('new') }, signer, lifetime, 0)).toBeUndefined();
  });
});

describe('signing-key ids in Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.dispose();
  });

  it('are shared by every instance: the first use is kept, the last is the latest of any', async () => {
    const [a, b] = [new RedisEventLog(redis.url), new RedisEventLog(redis.url)];
    try {
      await Promise.all([a.ready(), b.ready()]);
      await a.sessions.recordSigningKey('key-one', 1000);
      await b.sessions.recordSigningKey('key-one', 5000);
      await a.sessions.recordSigningKey('key-one', 3000);
      await b.sessions.recordSigningKey('key-two', 4000);
      const keys = await b.sessions.signingKeys();
      expect(keys.sort((x, y) => x.id.localeCompare(y.id))).toEqual([
        { id: 'key-one', firstSigned: 1000, lastSigned: 5000 },
        { id: 'key-two', firstSigned: 4000, lastSigned: 4000 },
      ]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
