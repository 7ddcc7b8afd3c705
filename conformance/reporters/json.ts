// --reporter json: the report exactly as schemas/conformance-report.schema.json describes.
import type { RunSummary } from '../report.ts';

export function renderJson(report: RunSummary): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
