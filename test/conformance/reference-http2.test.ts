// The conformance runner speaks HTTP/2 to an https: endpoint (undici allowH2), and the
// reference server passes every check over it (issue 14).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allChecks } from '../../conformance/checks/index.ts';
import { runChecks } from '../../conformance/runner.ts';
import { createServer, type SspServer } from '../../reference-server/index.ts';
import { makeSelfSignedCert, type SelfSigned } from '../http2/self-signed.ts';
import { isExpectedNote } from './expected-notes.ts';

describe('reference server over HTTP/2', () => {
  let tls: SelfSigned;
  let server: SspServer;
  const protocols = new Set<string>();
  beforeAll(async () => {
    tls = makeSelfSignedCert();
    server = await createServer({ port: 0, host: '127.0.0.1', conformance: true, tls: { cert: tls.cert, key: tls.key } });
    // Which protocol the runner's connections negotiated: the proof that it spoke HTTP/2.
    server.server.on('secureConnection', (socket) => protocols.add(String(socket.alpnProtocol)));
  });
  afterAll(async () => {
    await server?.close();
    tls?.remove();
  });

  it('passes every conformance check, with every connection on h2', async () => {
    const summary = await runChecks(allChecks, { endpoint: server.url, concurrency: 16, ca: tls.cert });
    const notPassed = summary.results.filter((result) => result.status !== 'pass' && !isExpectedNote(result)).map((result) => `${result.status} ${result.id}: ${result.reason ?? ''}`);
    expect(notPassed).toEqual([]);
    // Every connection of undici negotiated h2; the only others are the raw-socket probes of
    // SSP-TRANSPORT-9, which write HTTP/1.1 bytes themselves and offer no ALPN (false).
    expect(protocols.has('h2')).toBe(true);
    expect([...protocols].filter((protocol) => protocol !== 'h2' && protocol !== 'false')).toEqual([]);
  });
});
