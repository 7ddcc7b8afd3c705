// The requirement registry (spec/requirements.json), typed: read by the registry/prose
// agreement test and by the coverage table of the conformance checks.
import { readFileSync } from 'node:fs';

export interface Requirement {
  id: string;
  level: 'MUST' | 'SHOULD' | 'MAY';
  section: string;
  text: string;
  binds: 'server' | 'client';
  observable: boolean;
  reason?: string;
  /** How the requirement is checked (client requirements: the conformance-client kit, the reference client's tests). */
  checkedBy?: string;
  /** `obsolete`: retired; its meaning lives on in `replacedBy`. An ID never changes meaning. */
  status?: 'obsolete';
  replacedBy?: string;
}

export function loadRequirements(): Requirement[] {
  return JSON.parse(readFileSync(new URL('../spec/requirements.json', import.meta.url), 'utf8')) as Requirement[];
}
