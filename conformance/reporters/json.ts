// --reporter json: the report exactly as schemas/conformance-report.schema.json describes.
// Transcripts of passing checks are left out unless asked for (--passing-transcripts): the
// report stays small enough to diff between runs, and failures keep their evidence.
import type { RunSummary } from '../report.ts';

export function renderJson(report: RunSummary, passingTranscripts = false): string {
  const results = passingTranscripts ? report.results : report.results.map((result) => (result.status === 'pass' ? { ...result, evidence: [] } : result));
  return `${JSON.stringify({ ...report, results }, null, 2)}\n`;
}
