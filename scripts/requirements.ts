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
  /** Present on withdrawn IDs only: an ID never changes meaning, it is retired instead. */
  status?: 'obsolete';
  /** The IDs that took over a withdrawn requirement's meaning. */
  replacedBy?: string[];
}

export function loadRequirements(): Requirement[] {
  return JSON.parse(readFileSync(new URL('../spec/requirements.json', import.meta.url), 'utf8')) as Requirement[];
}

/** The requirements in force: every registry entry except the withdrawn ones. */
export function currentRequirements(): Requirement[] {
  return loadRequirements().filter((requirement) => requirement.status !== 'obsolete');
}
