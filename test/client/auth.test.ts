// Authorization from the client's side (spec §16, SSP-CLIENT-20 and -28): credentials go with
// every request; 401 and 403, from the server or from a gateway in front of it, are typed
// authorization errors that are never repeated; a `revoked` termination ends the stream.
import { fetch } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createSubscribe, SspAuthError, SspTerminationError, subscribe } from '../../reference-client/node.ts';
import type { FetchLike, StreamRestartNotice } from '../../reference-client/node.ts';
import { startFaultServer } from './fault-server.ts';
import type { Fault, FaultServer } from './fault-server.ts';
import { drain, fast, until } from './helpers.ts';

let server: FaultServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(faults: Fault[], events = 3) {
  server = await startFaultServer({ events, batchSize: 3, faults, holdMs: 10_000 });
  return server;
}

describe('credentials (SSP-CLIENT-28)', () => {
  it('headers go with open, every poll and close', async () => {
    const s = await startFaultServer({ events: Infinity, available: 2, batchSize: 1, holdMs: 10_000 });
    server = s;
    const subscription = subscribe(s.url, 'counter', {}, { ...fast, headers: { authorization: 'Bearer t0k3n' } });
    expect(await until(() => s.requests.some((r) => r.type === 'poll' && r.position === 2))).toBe(true);
    await subscription.close();
    expect(s.requests.map((r) => r.type)).toEqual(['open', 'poll', 'poll', 'poll', 'close']);
    expect(new Set(s.requests.map((r) => r.authorization))).toEqual(new Set(['Bearer t0k3n']));
  });

  it('a headers function is asked on each request, so a refreshed token is used at once', async () => {
    const s = await start([], 6);
    let token = 0;
    const subscription = subscribe(s.url, 'counter', {}, { ...fast, headers: async () => ({ authorization: `Bearer ${++token}` }) });
    await drain(subscription);
    // Discovery (a 404 here) asked once too: tokens 2.. went with the POSTs.
    expect(s.requests.map((r) => r.authorization)).toEqual(['Bearer 2', 'Bearer 3', 'Bearer 4', 'Bearer 5']);
  });

  it("credentials: 'include' reaches fetch on every request (cookies to another origin in browsers)", async () => {
    const s = await start([]);
    const modes: (string | undefined)[] = [];
    const recording: FetchLike = (url, init) => {
      modes.push(init.credentials);
      return fetch(url, init);
    };
    await drain(createSubscribe(recording)(s.url, 'counter', {}, { ...fast, credentials: 'include' }));
    expect(modes.length).toBeGreaterThanOrEqual(3);
    expect(new Set(modes)).toEqual(new Set(['include']));
  });
});

describe('authorization failures (SSP-CLIENT-20)', () => {
  it('401 unauthorized from the server: SspAuthError with the challenge, not repeated', async () => {
    const s = await start([{ error: 'unauthorized', status: 401, retryable: false }]);
    const subscription = subscribe(s.url, 'counter', {}, fast);
    const { error } = await drain(subscription);
    expect(error).toBeInstanceOf(SspAuthError);
    expect(error).toMatchObject({ code: 'unauthorized', status: 401, body: { code: 'unauthorized' } });
    expect(s.requests).toHaveLength(1);
  });

  it('401 from an authentication gateway (an HTML page): the same typed error, no body', async () => {
    const s = await start(['ok', 'gateway-401']);
    const { seqs, error } = await drain(subscribe(s.url, 'counter', {}, fast));
    expect(seqs).toEqual([]);
    expect(error).toBeInstanceOf(SspAuthError);
    expect(error).toMatchObject({ code: 'unauthorized', status: 401, challenge: 'Bearer realm="gateway"', body: undefined });
    expect(s.requests).toHaveLength(2);
  });

  it('403 forbidden on a poll (access withdrawn): SspAuthError, not repeated, no restart', async () => {
    const s = await start(['ok', { error: 'forbidden', status: 403, retryable: false }]);
    const subscription = subscribe(s.url, 'counter', {}, fast);
    const restarts: StreamRestartNotice[] = [];
    subscription.on('restart', (notice) => restarts.push(notice));
    const { error } = await drain(subscription);
    expect(error).toMatchObject({ code: 'forbidden', status: 403 });
    expect(restarts).toEqual([]);
    expect(s.requests.map((r) => r.type)).toEqual(['open', 'poll']);
  });

  it('renewCredentials: a 401 on a poll is a pause (SSP-AUTH-5): the same poll again with new credentials, nothing lost', async () => {
    const s = await start(['ok', 'ok', { error: 'unauthorized', status: 401, retryable: false }], 6);
    let token = 'old';
    const renewed: SspAuthError[] = [];
    const subscription = subscribe(s.url, 'counter', {}, {
      ...fast,
      headers: () => ({ authorization: `Bearer ${token}` }),
      renewCredentials: (error) => {
        renewed.push(error);
        token = 'new';
        return true;
      },
    });
    const { seqs, error } = await drain(subscription);
    expect(error).toBeUndefined();
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6]);
    expect(renewed.map((e) => e.code)).toEqual(['unauthorized']);
    // The refused poll (position 3, old token) is repeated unchanged but for the credentials.
    expect(s.requests.slice(2, 4)).toMatchObject([
      { type: 'poll', position: 3, authorization: 'Bearer old' },
      { type: 'poll', position: 3, authorization: 'Bearer new' },
    ]);
  });

  it('renewCredentials answering false ends the subscription with the SspAuthError', async () => {
    const s = await start(['ok', { error: 'forbidden', status: 403, retryable: false }]);
    const { error } = await drain(subscribe(s.url, 'counter', {}, { ...fast, renewCredentials: () => false }));
    expect(error).toMatchObject({ code: 'forbidden' });
    expect(s.requests).toHaveLength(2);
  });

  it('403 invalid-signature is not an authorization failure: the stream restarts (SSP-CLIENT-25)', async () => {
    const s = await start(['ok', { error: 'invalid-signature' }]);
    const { seqs, error } = await drain(subscribe(s.url, 'counter', {}, fast));
    expect(error).toBeUndefined();
    expect(seqs).toEqual([1, 2, 3]);
  });

  it('a revoked termination ends the stream like any final termination', async () => {
    const s = await start(['ok', 'ok', { terminate: 'revoked', action: 'none' }], 6);
    const subscription = subscribe(s.url, 'counter', {}, fast);
    const { seqs, error } = await drain(subscription);
    expect(seqs).toEqual([1, 2, 3]);
    expect(error).toBeInstanceOf(SspTerminationError);
    expect((await subscription.termination).reason).toBe('revoked');
    expect(s.requests).toHaveLength(3);
  });
});
