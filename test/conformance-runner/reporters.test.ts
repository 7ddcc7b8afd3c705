import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createValidator } from '../../schemas/index.ts';
import { check } from '../../conformance/check.ts';
import type { RunSummary } from '../../conformance/report.ts';
import { renderHtml } from '../../conformance/reporters/html.ts';
import { renderJson } from '../../conformance/reporters/json.ts';
import { renderJunit } from '../../conformance/reporters/junit.ts';
import { renderPretty } from '../../conformance/reporters/pretty.ts';
import { runChecks } from '../../conformance/runner.ts';
import * as fake from './fake-checks.ts';
import { startFakeServer, type FakeServer } from './fake-server.ts';

let server: FakeServer;
let report: RunSummary;

// Characters that must be escaped in XML and HTML, and one XML 1.0 cannot carry at all.
const hostile = check('SSP-ERROR-1', 'MUST answer <b>"tricky"</b> & co', async (ctx) => {
  await ctx.raw({ method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"x":"</pre><script>alert(1)</script>\u0001"}' });
  ctx.fail('saw </pre><script>alert(1)</script> & \u0001 ]]>');
});

beforeAll(async () => {
  server = await startFakeServer();
  report = await runChecks([...fake.mixed, hostile], { endpoint: server.url, expectedFailures: ['SSP-SIGNATURE-9'] });
});
afterAll(() => server.close());

/** Every tag opened is closed in order (a crude well-formedness check; no XML parser is installed). */
function assertBalancedXml(xml: string): string[] {
  const stack: string[] = [];
  const seen: string[] = [];
  for (const [tag, slash, name, selfClosing] of xml.matchAll(/<(\/?)([A-Za-z][\w-]*)[^>]*?(\/?)>/g)) {
    expect(tag).not.toMatch(/<[^>]*<|[^"]&(?![a-z]+;|#\d+;)/);
    if (slash) expect(stack.pop()).toBe(name);
    else if (!selfClosing) stack.push(name);
    seen.push(name);
  }
  expect(stack).toEqual([]);
  return seen;
}

describe('json reporter', () => {
  test('validates against schemas/conformance-report.schema.json', () => {
    const json = JSON.parse(renderJson(report)) as unknown;
    const result = createValidator().validate('conformance-report', json);
    expect(result).toEqual({ ok: true });
    expect(json).toMatchObject({ tool: { name: 'xanjax' }, endpoint: server.url, conforming: false });
  });
});

describe('json reporter size', () => {
  test('keeps transcripts of failures only, unless asked for the passing ones too', () => {
    const small = JSON.parse(renderJson(report)) as RunSummary;
    for (const result of small.results) if (result.status === 'pass') expect(result.evidence).toEqual([]);
    expect(small.results.some((result) => result.status === 'fail' && result.evidence.length > 0)).toBe(true);
    const full = JSON.parse(renderJson(report, true)) as RunSummary;
    expect(full.results.some((result) => result.status === 'pass' && result.evidence.length > 0)).toBe(true);
  });
});

describe('html reporter order and links', () => {
  test('puts failures before passes and links requirement IDs to their spec section', () => {
    const html = renderHtml(report);
    const rows = [...html.matchAll(/<tr><td class="s-([a-z-]+)">/g)].map((match) => match[1]);
    expect(rows.indexOf('fail')).toBeLessThan(rows.indexOf('pass'));
    expect(rows.lastIndexOf('fail')).toBeLessThan(rows.indexOf('pass'));
    expect(html).toMatch(/<a href="[^"]*spec\/ssp-1\.md#SSP-HOLD-3">SSP-HOLD-3<\/a> <span class="sec">§10 Holding<\/span>/);
    expect(html.indexOf('Problems and their transcripts')).toBeLessThan(html.indexOf('All results'));
  });
});

describe('junit reporter', () => {
  test('is well-formed XML with a suite per section and a case per check', () => {
    const xml = renderJunit(report);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')).toBe(true);
    const tags = assertBalancedXml(xml.replace(/^<\?xml[^>]*\?>/, ''));
    expect(tags.filter((tag) => tag === 'testsuite')).toHaveLength(2 * 7); // open + close per section
    expect(tags.filter((tag) => tag === 'testcase').length).toBeGreaterThanOrEqual(report.results.length);
    expect(xml).toContain('<testsuite name="HOLD" tests="1" failures="1" errors="0" skipped="0"');
    expect(xml).toContain('<error message="TypeError: cannot read properties of undefined');
    expect(xml).toContain('<skipped message="expected failure: session was not re-created"/>');
    expect(xml).not.toMatch(/[\u0001]/);
    expect(xml).toContain('<failure message="saw &lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; \uFFFD ]]&gt;" type="fail">');
  });

  test('a failure carries its reason and the transcript', () => {
    const xml = renderJunit(report);
    const failure = xml.match(/<testcase name="SSP-HOLD-3[^]*?<\/testcase>/)?.[0] ?? '';
    expect(failure).toContain('<failure message="expected no events, got 1 &lt;&amp;&gt;" type="fail">');
    expect(failure).toContain('&gt; POST ' + server.url);
    expect(failure).toContain('&quot;type&quot;:&quot;poll&quot;');
  });
});

describe('html reporter', () => {
  test('is one self-contained file with the transcript of every failed check, escaped', () => {
    const html = renderHtml(report);
    expect(html).not.toMatch(/<script|<link|src=/);
    expect(html).toContain('Not conforming');
    expect(html).toContain('id="check-SSP-HOLD-3"');
    expect(html).toMatch(/&gt; POST http:\/\/127\.0\.0\.1:\d+\/ssp\n&gt; content-type: application\/json\n&gt; \{&quot;ssp&quot;:1,&quot;type&quot;:&quot;poll&quot;/);
    expect(html).toContain('&lt; 200 (');
    expect(html).toContain('MUST answer &lt;b&gt;&quot;tricky&quot;&lt;/b&gt; &amp; co');
    expect(html).toContain('&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('saw &lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp;');
    expect(html).toContain('&lt; 400 (');
    for (const result of report.results) expect(html).toContain(result.id);
  });
});

describe('pretty reporter', () => {
  test('groups by section with marks, reasons, spec links and evidence; no colour unless asked', () => {
    const text = renderPretty(report);
    expect(text).not.toContain('\x1b[');
    expect(text).toMatch(/\nOPEN\n  ✓ SSP-OPEN-1  MUST answer open with a session \d+ ms\n  ✗ SSP-OPEN-2 /);
    expect(text).toContain('  ✗ SSP-HOLD-3  MUST answer a poll with a batch of no events  [failed]');
    expect(text).toContain('      expected no events, got 1 <&>\n      see spec/ssp-1.md#SSP-HOLD-3\n      │ > POST ');
    expect(text).toContain('  ! SSP-CORS-5  SHOULD send Access-Control-Max-Age  [warning]');
    expect(text).toContain('  ~ SSP-SIGNATURE-9');
    expect(text).toContain('  ? SSP-BATCH-2');
    expect(text).toMatch(/✗ NOT CONFORMING {2}8 checks: 2 passed, 3 failed, 1 warning, 1 harness error, 1 expected failure in \d+\.\d s\n$/);
  });

  test('colours on request', () => {
    expect(renderPretty(report, { color: true })).toContain('\x1b[31m✗\x1b[0m');
  });
});

describe('a MUST reported as a note (CheckNote: not applicable to this server)', () => {
  test('every reporter shows it as a non-failing note with its reason', async () => {
    const noted = await runChecks([fake.passing, fake.throwsNote], { endpoint: server.url });
    const reason = 'not applicable: the server does not allow origin https://a.example';
    expect(noted.conforming).toBe(true);
    expect(createValidator().validate('conformance-report', JSON.parse(renderJson(noted)) as unknown)).toEqual({ ok: true });
    expect(renderPretty(noted, { color: false })).toContain(reason);
    const xml = renderJunit(noted);
    assertBalancedXml(xml.replace(/^<\?xml[^>]*\?>/, ''));
    expect(xml).not.toMatch(/<failure|<error/);
    expect(xml).toContain(reason);
    expect(renderHtml(noted)).toContain(reason);
  });
});
