// Default reporter: results grouped by spec section with a mark per check, and for each
// problem the reason, the spec link and the end of the request/response transcript.
import type { CheckResult } from '../check.ts';
import type { RunSummary } from '../report.ts';
import { exitCodeOf } from '../report.ts';
import { painter, type Paint } from './ansi.ts';
import { bySection, summaryLine } from './sections.ts';
import { connectionHeaders, transcript } from './transcript.ts';

const marks: Record<CheckResult['status'], [string, Parameters<Paint>[0], string]> = {
  pass: ['✓', 'green', ''],
  fail: ['✗', 'red', 'failed'],
  warning: ['!', 'yellow', 'warning'],
  note: ['·', 'cyan', 'note'],
  'harness-error': ['?', 'magenta', 'harness error (not the server\'s fault)'],
  'expected-failure': ['~', 'dim', 'expected failure'],
  'unexpected-pass': ['✗', 'red', 'unexpected pass'],
};

/** Statuses whose transcript is shown: the ones a reader has to act on. */
const withEvidence = new Set<CheckResult['status']>(['fail', 'warning', 'harness-error']);

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}

function renderResult(result: CheckResult, paint: Paint): string {
  const [mark, style, label] = marks[result.status];
  const head = `  ${paint(style, mark)} ${paint('bold', result.id)}  ${result.title}${label ? `  ${paint(style, `[${label}]`)}` : ''} ${paint('dim', `${result.ms} ms`)}`;
  if (result.status === 'pass') return head;
  const lines = [head];
  if (result.reason !== undefined) lines.push(indent(result.reason, '      '));
  lines.push(paint('dim', `      see ${result.specRef}`));
  if (withEvidence.has(result.status) && result.evidence.length > 0) {
    lines.push(paint('dim', indent(transcript(result.evidence, { maxBody: 600, lastExchanges: 4, hideHeaders: connectionHeaders }), '      │ ')));
  }
  return lines.join('\n');
}

const verdicts = {
  0: ['✓', 'green', 'CONFORMING'],
  1: ['✗', 'red', 'NOT CONFORMING'],
  3: ['?', 'magenta', 'INCONCLUSIVE (harness errors)'],
} as const;

export function renderPretty(report: RunSummary, options: { color?: boolean } = {}): string {
  const paint = painter(options.color ?? false);
  const out = [`${paint('bold', 'SSP/1 conformance')} of ${report.endpoint} ${paint('dim', `(xanjax ${report.tool.version}${report.strict ? ', strict' : ''})`)}`];
  for (const [section, results] of bySection(report.results)) {
    out.push('', paint('bold', section), ...results.map((result) => renderResult(result, paint)));
  }
  out.push('', verdictLine(report, options));
  return `${out.join('\n')}\n`;
}

/** The verdict and counts on one line (the pretty report's last; alone when every report goes to a file). */
export function verdictLine(report: RunSummary, options: { color?: boolean } = {}): string {
  const paint = painter(options.color ?? false);
  const [mark, style, verdict] = verdicts[exitCodeOf(report.summary)];
  return `${paint(style, `${mark} ${verdict}`)}  ${summaryLine(report.summary)} ${paint('dim', `in ${(report.durationMs / 1000).toFixed(1)} s`)}`;
}
