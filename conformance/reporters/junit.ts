// --reporter junit: one <testsuite> per spec section, one <testcase> per check, for CI
// systems that render JUnit XML. JUnit has no "warning": warnings and notes pass and
// carry their reason in <system-out>; expected failures are <skipped>; harness errors
// are <error> (not the server's fault), failures and unexpected passes are <failure>.
import type { CheckResult } from '../check.ts';
import type { RunSummary } from '../report.ts';
import { bySection } from './sections.ts';
import { transcript } from './transcript.ts';
import { escapeXml as x } from './xml.ts';

const seconds = (ms: number) => (ms / 1000).toFixed(3);

function details(result: CheckResult): string {
  const parts = [result.reason ?? '', `see ${result.specRef}`];
  if (result.evidence.length > 0) parts.push(transcript(result.evidence));
  return x(parts.join('\n\n'));
}

function testcase(result: CheckResult): string {
  const open = `    <testcase name="${x(`${result.id} ${result.title}`)}" classname="${x(`ssp.${result.section}`)}" time="${seconds(result.ms)}"`;
  const message = x(result.reason ?? result.status);
  switch (result.status) {
    case 'pass':
      return `${open}/>`;
    case 'fail':
    case 'unexpected-pass':
      return `${open}>\n      <failure message="${message}" type="${result.status}">${details(result)}</failure>\n    </testcase>`;
    case 'harness-error':
      return `${open}>\n      <error message="${message}" type="harness-error">${details(result)}</error>\n    </testcase>`;
    case 'expected-failure':
      return `${open}>\n      <skipped message="${x(`expected failure: ${result.reason ?? ''}`)}"/>\n    </testcase>`;
    case 'warning':
    case 'note':
      return `${open}>\n      <system-out>${x(`${result.status}: `)}${details(result)}</system-out>\n    </testcase>`;
  }
}

function counts(results: readonly CheckResult[], ms: number) {
  const count = (...statuses: CheckResult['status'][]) => results.filter((result) => statuses.includes(result.status)).length;
  return `tests="${results.length}" failures="${count('fail', 'unexpected-pass')}" errors="${count('harness-error')}" skipped="${count('expected-failure')}" time="${seconds(ms)}"`;
}

const totalMs = (results: readonly CheckResult[]) => results.reduce((sum, result) => sum + result.ms, 0);

export function renderJunit(report: RunSummary): string {
  const suites = [...bySection(report.results)].map(
    ([section, results]) =>
      `  <testsuite name="${x(section)}" ${counts(results, totalMs(results))} timestamp="${x(report.startedAt)}">\n${results.map(testcase).join('\n')}\n  </testsuite>`,
  );
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${x(`SSP/1 conformance of ${report.endpoint}`)}" ${counts(report.results, report.durationMs)}>`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
