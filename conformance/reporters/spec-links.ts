// Requirement IDs linked to the spec (issue 9 §4): the spec's anchor for the ID, and the
// number and title of the section it stands in, read once from the spec shipped beside the
// runner (spec/ssp-1.md); a report links to that file, or to XANJAX_SPEC_URL when set.
import { readFileSync } from 'node:fs';

const specFile = new URL('../../spec/ssp-1.md', import.meta.url);

let sections: Map<string, string> | undefined;

/** Requirement ID → "10 Holding" (the innermost numbered heading above its anchor). */
function sectionsById(): Map<string, string> {
  if (sections) return sections;
  sections = new Map();
  let text = '';
  try {
    text = readFileSync(specFile, 'utf8');
  } catch {
    return sections;
  }
  let current = '';
  for (const line of text.split('\n')) {
    const heading = /^#{2,3} (\d+(?:\.\d+)*)\.? (.+)$/.exec(line);
    if (heading) current = `${heading[1]} ${heading[2]!.trim()}`;
    for (const match of line.matchAll(/<a id="(SSP-[A-Z]+-\d+)"><\/a>/g)) sections.set(match[1]!, current);
  }
  return sections;
}

export function specLink(id: string): { id: string; href: string; section: string | undefined } {
  const base = process.env.XANJAX_SPEC_URL ?? specFile.href;
  return { id, href: `${base}#${id}`, section: sectionsById().get(id) };
}
