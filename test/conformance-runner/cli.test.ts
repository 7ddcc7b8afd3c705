import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createValidator } from '../../schemas/index.ts';
import type { Check } from '../../conformance/check.ts';
import { main } from '../../conformance/cli.ts';
import * as fake from './fake-checks.ts';
import { startFakeServer, type FakeServer } from './fake-server.ts';

let server: FakeServer;
let dir: string;

beforeAll(async () => {
  server = await startFakeServer();
  dir = await mkdtemp(join(tmpdir(), 'xanjax-cli-'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function sink(isTTY = false) {
  const chunks: string[] = [];
  return { isTTY, write: (text: string) => chunks.push(text), get text() { return chunks.join(''); } };
}

async function cli(argv: string[], checks: Check[], options: { stdoutTTY?: boolean; stderrTTY?: boolean; env?: NodeJS.ProcessEnv; checkTimeoutMs?: number } = {}) {
  const stdout = sink(options.stdoutTTY);
  const stderr = sink(options.stderrTTY);
  const code = await main(argv, { checks, stdout, stderr, env: options.env ?? {}, checkTimeoutMs: options.checkTimeoutMs ?? 5000 });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('exit codes', () => {
  test('0 when conforming (warnings and notes allowed)', async () => {
    const { code, stdout, stderr } = await cli([server.url], [fake.passing, fake.failingShould, fake.failingMay]);
    expect(code).toBe(0);
    expect(stdout).toContain('✓ CONFORMING');
    expect(stderr).toBe('');
  });

  test('1 when a MUST fails', async () => {
    expect((await cli([server.url], [fake.passing, fake.failingMust])).code).toBe(1);
  });

  test('1 when a SHOULD fails under --strict', async () => {
    expect((await cli([server.url, '--strict'], [fake.passing, fake.failingShould])).code).toBe(1);
  });

  test('1 when a wire-schema violation is seen', async () => {
    expect((await cli([server.url], [fake.schemaViolation])).code).toBe(1);
  });

  test('3 on a harness error without failures, 1 when there is also a failure', async () => {
    expect((await cli([server.url], [fake.passing, fake.harnessBug])).code).toBe(3);
    expect((await cli([server.url], [fake.failingMust, fake.harnessBug])).code).toBe(1);
  });

  test('3 when a hanging check is cut by the per-check timeout', async () => {
    const { code, stdout } = await cli([server.url], [fake.hanging], { checkTimeoutMs: 300 });
    expect(code).toBe(3);
    expect(stdout).toContain('did not finish within 300 ms');
  });

  test('3 when the runner itself is at fault (a broken check list)', async () => {
    const { code, stderr } = await cli([server.url], [fake.passing, fake.passing]);
    expect(code).toBe(3);
    expect(stderr).toContain('internal error: CheckListError: check IDs must be unique; declared more than once: SSP-OPEN-1');
  });

  test('2 when the server is unreachable', async () => {
    const gone = await startFakeServer();
    await gone.close();
    const { code, stderr } = await cli([gone.url], [fake.passing]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+\/ssp: ECONNREFUSED/);
  });

  test('2 on usage errors', async () => {
    for (const argv of [[], ['--bogus', server.url], ['not a url'], [server.url, '--timeout-scale', '0'], [server.url, '--concurrency', 'x'], [server.url, '-H', 'no colon'], [server.url, '--reporter', 'tap'], [server.url, '--only', 'NOPE'], [server.url, '--origin', 'https://example.com/path']]) {
      const { code, stderr } = await cli(argv, [fake.passing]);
      expect({ argv, code }).toEqual({ argv, code: 2 });
      expect(stderr).toContain("Run 'xanjax conformance --help'");
    }
  });

  test('--help prints the options and exits 0', async () => {
    const { code, stdout } = await cli(['--help'], []);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: xanjax conformance <endpoint-url> [options]');
    expect(stdout).toContain('--expected-failures FILE');
  });
});

describe('--list, --only, --skip', () => {
  test('--list prints id, level and title without contacting a server', async () => {
    const { code, stdout } = await cli(['--list'], fake.mixed);
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toBe('SSP-OPEN-1       MUST    MUST answer open with a session');
    expect(stdout.trim().split('\n')).toHaveLength(fake.mixed.length);
  });

  test('--list honours --only and --skip (comma-separated, repeatable)', async () => {
    const { stdout } = await cli(['--list', '--only', 'OPEN,SSP-HOLD', '--only', 'SSP-CORS-5', '--skip', 'SSP-OPEN-2'], fake.mixed);
    expect(stdout.trim().split('\n').map((line) => line.split(' ')[0])).toEqual(['SSP-OPEN-1', 'SSP-HOLD-3', 'SSP-CORS-5']);
  });

  test('--only runs only the matching checks', async () => {
    const { code, stdout } = await cli([server.url, '--only', 'SSP-OPEN-1'], fake.mixed);
    expect(code).toBe(0);
    expect(stdout).toContain('1 check: 1 passed');
  });
});

describe('--expected-failures', () => {
  async function baseline(text: string) {
    const file = join(dir, `baseline-${Math.random().toString(36).slice(2)}.txt`);
    await writeFile(file, text);
    return file;
  }

  test('a listed failure does not fail the run', async () => {
    const file = await baseline('# known issues\nSSP-HOLD-3   # held polls not implemented yet\n\n');
    const { code, stdout } = await cli([server.url, '--expected-failures', file], [fake.passing, fake.failingMust]);
    expect(code).toBe(0);
    expect(stdout).toContain('1 expected failure');
  });

  test('a listed check that passes fails the run (stale baseline)', async () => {
    const file = await baseline('SSP-OPEN-1\n');
    const { code, stdout } = await cli([server.url, '--expected-failures', file], [fake.passing]);
    expect(code).toBe(1);
    expect(stdout).toContain('remove it from the baseline');
  });

  test('an entry matching no check, or a missing file, is a usage error', async () => {
    const file = await baseline('SSP-OPEN-99\n');
    expect((await cli([server.url, '--expected-failures', file], [fake.passing])).stderr).toContain("no check has the ID 'SSP-OPEN-99'");
    expect((await cli([server.url, '--expected-failures', join(dir, 'missing.txt')], [fake.passing])).code).toBe(2);
  });
});

describe('reporters and output', () => {
  test('several reporters at once, to files and stdout', async () => {
    const json = join(dir, 'out', 'report.json');
    const junit = join(dir, 'out', 'junit.xml');
    const html = join(dir, 'out', 'report.html');
    const argv = [server.url, '--reporter', `json:${json}`, '--reporter', `junit:${junit}`, '--reporter', `html:${html}`, '--reporter', 'pretty'];
    const { code, stdout } = await cli(argv, [fake.passing, fake.failingMust]);
    expect(code).toBe(1);
    expect(stdout).toContain('✗ NOT CONFORMING');
    const report = JSON.parse(await readFile(json, 'utf8')) as { summary: { fail: number } };
    expect(createValidator().validate('conformance-report', report)).toEqual({ ok: true });
    expect(report.summary.fail).toBe(1);
    expect(await readFile(junit, 'utf8')).toContain('<failure message="expected no events, got 1 &lt;&amp;&gt;"');
    expect(await readFile(html, 'utf8')).toContain('&quot;type&quot;:&quot;poll&quot;');
  });

  test('file reporters alone still print the verdict on one line', async () => {
    const html = join(dir, 'out', 'only.html');
    const { code, stdout } = await cli([server.url, '--reporter', `html:${html}`], [fake.passing, fake.failingMust]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^✗ NOT CONFORMING {2}2 checks: .+; reports: .+only\.html\n$/);
  });

  test('json to stdout is the only output there', async () => {
    const { stdout } = await cli([server.url, '--reporter', 'json'], [fake.passing]);
    expect(JSON.parse(stdout)).toMatchObject({ conforming: true, summary: { total: 1, pass: 1 } });
  });

  test('only one reporter may write to stdout', async () => {
    const { code, stderr } = await cli([server.url, '--reporter', 'json', '--reporter', 'junit'], [fake.passing]);
    expect(code).toBe(2);
    expect(stderr).toContain('only one reporter may write to stdout');
  });

  test('-H headers are sent with every request, discovery included', async () => {
    const before = server.headers.length;
    await cli([server.url, '-H', 'Authorization: Bearer t0ken', '--header', 'X-Tenant:  blue '], [fake.passing]);
    const sent = server.headers.slice(before);
    expect(sent.length).toBeGreaterThanOrEqual(2);
    for (const headers of sent) expect(headers).toMatchObject({ authorization: 'Bearer t0ken', 'x-tenant': 'blue' });
  });

  test('--origin is the Origin the CORS checks send', async () => {
    const before = server.headers.length;
    expect((await cli([server.url, '--origin', 'https://app.example.com'], [fake.sendsOrigin])).code).toBe(0);
    expect(server.headers.slice(before).map((headers) => headers.origin)).toContain('https://app.example.com');
  });

  test('progress line on a terminal stderr only; colours on a terminal stdout unless NO_COLOR', async () => {
    const tty = await cli([server.url], [fake.passing, fake.failingMust], { stdoutTTY: true, stderrTTY: true });
    expect(tty.stderr).toMatch(/\r\x1b\[2K\[1\/2[^\]]*\] SSP-/);
    expect(tty.stderr.endsWith('\r\x1b[2K')).toBe(true);
    expect(tty.stdout).toContain('\x1b[31m');
    const noColor = await cli([server.url], [fake.passing], { stdoutTTY: true, env: { NO_COLOR: '1' } });
    expect(noColor.stdout).not.toContain('\x1b[');
    expect(noColor.stderr).toBe('');
  });
});
