// --reporter html: one self-contained file (inline style, no scripts, no external
// resources): the summary, then every check that did not pass (failures first) with its
// reason and full request/response transcript, then a table of every result; requirement
// IDs link to their place in the spec. Everything is escaped:
// server bodies and headers are untrusted text.
import type { CheckResult } from '../check.ts';
import type { RunSummary } from '../report.ts';
import { exitCodeOf } from '../report.ts';
import { summaryLine } from './sections.ts';
import { transcript } from './transcript.ts';
import { specLink } from './spec-links.ts';

const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const h = (text: string) => text.replace(/[&<>"']/g, (char) => entities[char]);
const anchor = (id: string) => `check-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;

const verdicts = { 0: 'Conforming', 1: 'Not conforming', 3: 'Inconclusive (harness errors)' } as const;

const style = `
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d1d1f;background:#fff}
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.15rem;margin-top:2rem}
.verdict{font-weight:600;font-size:1.1rem}.v0{color:#1a7f37}.v1{color:#c9252d}.v3{color:#8250df}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f4f4f6}td.ms,td code{white-space:nowrap}td.ms{text-align:right}code{font-size:.92em}
.s-pass{color:#1a7f37}.s-fail,.s-unexpected-pass{color:#c9252d;font-weight:600}.s-warning{color:#9a6700;font-weight:600}
.s-note{color:#0969da}.s-harness-error{color:#8250df;font-weight:600}.s-expected-failure{color:#6e7781}
section.problem{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.sec{color:#6e7781;font-size:.9em}
pre{background:#f6f8fa;padding:.75rem;overflow:auto;white-space:pre-wrap;word-break:break-all}
`;

/** The requirement a check tests, linked to its place in the spec, with the section's heading. */
function requirement(result: CheckResult): string {
  const link = specLink(result.id.split('/', 1)[0]!);
  return `<a href="${h(link.href)}">${h(link.id)}</a>${link.section ? ` <span class="sec">§${h(link.section)}</span>` : ''}`;
}

function row(result: CheckResult): string {
  const id = result.status === 'pass' ? h(result.id) : `<a href="#${anchor(result.id)}">${h(result.id)}</a>`;
  return `<tr><td class="s-${result.status}">${h(result.status)}</td><td><code>${id}</code></td><td>${requirement(result)}</td><td>${h(result.title)}</td><td>${h(result.reason?.split('\n', 1)[0] ?? '')}</td><td class="ms">${result.ms} ms</td></tr>`;
}

/** Failures first: what a reader must act on, then what to look at, then the passes. */
const order: Record<CheckResult['status'], number> = { fail: 0, 'harness-error': 1, 'unexpected-pass': 2, warning: 3, note: 4, 'expected-failure': 5, pass: 6 };
const problemsFirst = (results: readonly CheckResult[]) => [...results].sort((a, b) => order[a.status] - order[b.status]);

function problem(result: CheckResult): string {
  const evidence = result.evidence.length > 0 ? `<pre>${h(transcript(result.evidence))}</pre>` : '<p>No HTTP exchange was recorded.</p>';
  return `<section class="problem" id="${anchor(result.id)}">
<h3><span class="s-${result.status}">${h(result.status)}</span> <code>${h(result.id)}</code> ${h(result.title)}</h3>
<pre>${h(result.reason ?? '')}</pre>
<p>Requirement: ${requirement(result)}</p>
${evidence}
</section>`;
}

export function renderHtml(report: RunSummary): string {
  const code = exitCodeOf(report.summary);
  const problems = problemsFirst(report.results.filter((result) => result.status !== 'pass'));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>SSP/1 conformance: ${h(report.endpoint)}</title>
<style>${style}</style>
</head>
<body>
<h1>SSP/1 conformance of <code>${h(report.endpoint)}</code></h1>
<p class="verdict v${code}">${verdicts[code]}</p>
<p>${h(summaryLine(report.summary))}. Started ${h(report.startedAt)}, took ${(report.durationMs / 1000).toFixed(1)} s${report.strict ? ', strict mode (SHOULD failures count)' : ''}. xanjax ${h(report.tool.version)}.</p>
<h2>Problems and their transcripts</h2>
${problems.length > 0 ? problems.map(problem).join('\n') : '<p>None: every check passed.</p>'}
<h2>All results</h2>
<table>
<thead><tr><th>Status</th><th>Check</th><th>Requirement</th><th>Title</th><th>Reason</th><th>Time</th></tr></thead>
<tbody>
${problemsFirst(report.results).map(row).join('\n')}
</tbody>
</table>
</body>
</html>
`;
}
