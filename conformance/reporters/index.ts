// The reporters, by the name used with --reporter NAME[:FILE].
import type { RunSummary } from '../report.ts';
import { renderHtml } from './html.ts';
import { renderJson } from './json.ts';
import { renderJunit } from './junit.ts';
import { renderPretty } from './pretty.ts';

export interface RenderOptions {
  /** ANSI colours (pretty only; the CLI enables them for a terminal without NO_COLOR). */
  color?: boolean;
  /** JSON: keep the transcripts of passing checks too (default: only of the others, so reports stay small enough to diff). */
  passingTranscripts?: boolean | undefined;
}

export const reporters = {
  pretty: (report: RunSummary, options: RenderOptions) => renderPretty(report, options),
  json: (report: RunSummary, options: RenderOptions) => renderJson(report, options.passingTranscripts ?? false),
  junit: (report: RunSummary) => renderJunit(report),
  html: (report: RunSummary) => renderHtml(report),
} satisfies Record<string, (report: RunSummary, options: RenderOptions) => string>;

export type ReporterName = keyof typeof reporters;

export function isReporterName(name: string): name is ReporterName {
  return Object.hasOwn(reporters, name);
}
