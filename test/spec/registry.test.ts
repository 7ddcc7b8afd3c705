// Keeps spec/requirements.json and the prose of spec/ssp-1.md in agreement (issue 2:
// "no ID in one and not the other, no duplicate, no keyword sentence without an ID").
// A normative sentence in the prose is `<a id="ID"></a>**ID** sentence.`, the sentence
// ending at the first period outside a code span that is followed by whitespace.
import { readFileSync } from 'node:fs';
import { loadRequirements, type Requirement } from '../../scripts/requirements.ts';
import { describe, expect, it } from 'vitest';

/** The sections a requirement ID may name. */
const sections = [
  'TRANSPORT', 'CORS', 'AUTH', 'DISCOVERY', 'MESSAGE', 'EXT', 'OPEN', 'SIGNATURE', 'DELIVERY', 'HOLD', 'BATCH',
  'TERMINATION', 'CLOSE', 'LIFETIME', 'ERROR', 'ANNEX', 'CLIENT', 'SECURITY', 'MUX',
];

/** BCP 14 keywords and the level each one expresses (longest phrases first for the regex). */
const keywordLevel: Record<string, Requirement['level']> = {
  'MUST NOT': 'MUST', 'SHALL NOT': 'MUST', 'SHOULD NOT': 'SHOULD', 'NOT RECOMMENDED': 'SHOULD',
  MUST: 'MUST', SHALL: 'MUST', REQUIRED: 'MUST', SHOULD: 'SHOULD', RECOMMENDED: 'SHOULD', MAY: 'MAY', OPTIONAL: 'MAY',
};
const keywordPattern = new RegExp(`\\b(${Object.keys(keywordLevel).join('|')})\\b`, 'g');
const anchorPattern = /<a id="([^"]*)"><\/a>\*\*([^*]*)\*\*[ \t]*/g;

interface ProseRequirement {
  id: string;
  /** ID written in the bold label after the anchor (must equal `id`). */
  label: string;
  sentence: string;
  /** Offsets of anchor + sentence in the code-block-free prose. */
  start: number;
  end: number;
}

/** Fenced code blocks are examples, never normative text: blank them, keeping offsets meaningful. */
function withoutCodeBlocks(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, (block) => block.replace(/[^\n]/g, ' '));
}

/** The sentence starting at `from`: up to the first `.` outside a code span followed by whitespace or the end. */
function sentenceAt(prose: string, from: number): string | undefined {
  let inCode = false;
  for (let i = from; i < prose.length; i += 1) {
    const char = prose[i];
    if (char === '`') inCode = !inCode;
    else if (!inCode && char === '\n' && prose[i + 1] === '\n') return undefined;
    else if (!inCode && char === '.' && (i + 1 === prose.length || /\s/.test(prose[i + 1] ?? ''))) {
      return prose.slice(from, i + 1);
    }
  }
  return undefined;
}

function proseRequirements(prose: string): ProseRequirement[] {
  return [...prose.matchAll(anchorPattern)].map((match) => {
    const from = (match.index ?? 0) + match[0].length;
    const sentence = sentenceAt(prose, from);
    if (sentence === undefined) throw new Error(`${match[1]}: sentence has no closing period in its paragraph`);
    return { id: match[1] ?? '', label: match[2] ?? '', sentence, start: match.index ?? 0, end: from + sentence.length };
  });
}

/** Compare sentences as text: markdown emphasis and code marks dropped, whitespace collapsed. */
function normalise(text: string): string {
  return text.replace(/\*\*|`/g, '').replace(/\s+/g, ' ').trim();
}

/** Levels named by the keywords of a sentence (code spans ignored). */
function levelsOf(sentence: string): Set<string> {
  const outsideCode = sentence.replace(/`[^`]*`/g, '');
  return new Set([...outsideCode.matchAll(keywordPattern)].map((match) => keywordLevel[match[1] ?? ''] ?? ''));
}

/**
 * Keywords in the prose outside every ID'd sentence. Ignored: code blocks, code spans,
 * HTML comments, and a keyword standing alone in double quotes (how the conventions
 * paragraph quotes BCP 14's list).
 */
function strayKeywords(prose: string, requirements: ProseRequirement[]): string[] {
  let rest = prose;
  for (const requirement of [...requirements].sort((a, b) => b.start - a.start)) {
    rest = rest.slice(0, requirement.start) + ' '.repeat(requirement.end - requirement.start) + rest.slice(requirement.end);
  }
  const stray: string[] = [];
  rest.split('\n').forEach((line, index) => {
    const cleaned = line
      .replace(/<!--.*?-->/g, '')
      .replace(/`[^`]*`/g, '')
      .replace(new RegExp(`"(${Object.keys(keywordLevel).join('|')})"`, 'g'), '');
    if (keywordPattern.test(cleaned)) stray.push(`line ${index + 1}: ${line.trim()}`);
    keywordPattern.lastIndex = 0;
  });
  return stray;
}

const fullRegistry = loadRequirements();
/** Requirements in force; withdrawn ones (`status: obsolete`) stay in the registry but leave the prose. */
const registry = fullRegistry.filter((requirement) => requirement.status !== 'obsolete');
const withdrawn = fullRegistry.filter((requirement) => requirement.status === 'obsolete');
const rawProse = readFileSync(new URL('../../spec/ssp-1.md', import.meta.url), 'utf8');
const prose = withoutCodeBlocks(rawProse);
const inProse = proseRequirements(prose);
const registryById = new Map(registry.map((requirement) => [requirement.id, requirement]));
const proseById = new Map(inProse.map((requirement) => [requirement.id, requirement]));

function duplicates(ids: string[]): string[] {
  return ids.filter((id, index) => ids.indexOf(id) !== index);
}

describe('requirements registry (spec/requirements.json)', () => {
  it('has no duplicate IDs', () => {
    expect(duplicates(fullRegistry.map((requirement) => requirement.id))).toEqual([]);
  });

  it('replaces every withdrawn ID by IDs in force, and lists it in the changes of section 21', () => {
    const changes = rawProse.slice(rawProse.indexOf('### 21.2'));
    const wrong = withdrawn.filter(
      (r) =>
        !Array.isArray(r.replacedBy) ||
        r.replacedBy.length === 0 ||
        r.replacedBy.some((id) => !registry.some((current) => current.id === id)) ||
        !new RegExp(`\\b${r.id}\\b`).test(changes),
    );
    expect(wrong.map((r) => r.id)).toEqual([]);
  });

  it('uses replacedBy only on withdrawn IDs', () => {
    expect(registry.filter((r) => r.replacedBy !== undefined || r.status !== undefined).map((r) => r.id)).toEqual([]);
  });

  it('gives every entry a well-formed ID whose middle part is its section', () => {
    const wrong = fullRegistry.filter(
      (requirement) =>
        !/^SSP-[A-Z]+-\d+$/.test(requirement.id) ||
        requirement.id.split('-')[1] !== requirement.section ||
        !sections.includes(requirement.section),
    );
    expect(wrong.map((requirement) => requirement.id)).toEqual([]);
  });

  it('numbers each section 1, 2, 3 … without holes', () => {
    for (const section of sections) {
      const numbers = fullRegistry
        .filter((requirement) => requirement.section === section)
        .map((requirement) => Number(requirement.id.split('-')[2]))
        .sort((a, b) => a - b);
      expect(numbers, section).toEqual(numbers.map((_, index) => index + 1));
    }
  });

  it('has exactly the registry fields, with allowed values', () => {
    for (const requirement of fullRegistry) {
      const allowed = ['id', 'level', 'section', 'text', 'binds', 'observable', 'reason', 'status', 'replacedBy', 'checkedBy'];
      expect(Object.keys(requirement).filter((key) => !allowed.includes(key)), requirement.id).toEqual([]);
      expect(['MUST', 'SHOULD', 'MAY'], requirement.id).toContain(requirement.level);
      expect(['server', 'client'], requirement.id).toContain(requirement.binds);
      expect(typeof requirement.observable, requirement.id).toBe('boolean');
      expect(typeof requirement.text === 'string' && requirement.text.length > 0, requirement.id).toBe(true);
    }
  });

  it('gives a reason exactly for the requirements that cannot be observed', () => {
    const missing = registry.filter((r) => !r.observable && !(typeof r.reason === 'string' && r.reason.trim().length > 0));
    const superfluous = registry.filter((r) => r.observable && r.reason !== undefined);
    expect(missing.map((r) => r.id)).toEqual([]);
    expect(superfluous.map((r) => r.id)).toEqual([]);
  });

  it('names in its own text the level it declares, and no other', () => {
    const wrong = registry.filter((r) => [...levelsOf(r.text)].join() !== r.level);
    expect(wrong.map((r) => `${r.id}: ${[...levelsOf(r.text)].join()} vs ${r.level}`)).toEqual([]);
  });
});

describe('spec prose (spec/ssp-1.md) against the registry', () => {
  it('finds normative sentences in the prose', () => {
    expect(inProse.length).toBeGreaterThan(0);
  });

  it('labels every anchor with its own ID', () => {
    expect(inProse.filter((r) => r.id !== r.label).map((r) => `${r.id} labelled ${r.label}`)).toEqual([]);
  });

  it('has no duplicate anchors', () => {
    expect(duplicates(inProse.map((r) => r.id))).toEqual([]);
  });

  it('has no anchor for a withdrawn ID', () => {
    expect(withdrawn.filter((r) => proseById.has(r.id)).map((r) => r.id)).toEqual([]);
  });

  it('has every prose ID in the registry', () => {
    expect(inProse.filter((r) => !registryById.has(r.id)).map((r) => r.id)).toEqual([]);
  });

  it('has every registry ID in the prose', () => {
    expect(registry.filter((r) => !proseById.has(r.id)).map((r) => r.id)).toEqual([]);
  });

  it('keeps each registry text equal to its prose sentence', () => {
    const differing = registry
      .filter((r) => proseById.has(r.id) && normalise(proseById.get(r.id)?.sentence ?? '') !== normalise(r.text))
      .map((r) => ({ id: r.id, registry: normalise(r.text), prose: normalise(proseById.get(r.id)?.sentence ?? '') }));
    expect(differing).toEqual([]);
  });

  it('uses in each prose sentence exactly the keyword level of its registry entry', () => {
    const wrong = inProse
      .filter((r) => registryById.has(r.id))
      .filter((r) => [...levelsOf(r.sentence)].join() !== registryById.get(r.id)?.level)
      .map((r) => `${r.id}: ${[...levelsOf(r.sentence)].join() || 'no keyword'}`);
    expect(wrong).toEqual([]);
  });

  it('uses uppercase keywords only in sentences that carry an ID', () => {
    expect(strayKeywords(prose, inProse)).toEqual([]);
  });
});

describe('the checks of this file catch real mismatches', () => {
  const sample = [
    'The key words "MUST" and "MAY" are quoted.',
    '',
    '<a id="SSP-HOLD-1"></a>**SSP-HOLD-1** The server MUST hold `a.b` polls. Then it waits.',
    '',
    'A stray sentence that SHOULD have an ID.',
  ].join('\n');

  it('extracts the sentence up to its period, skipping periods in code spans', () => {
    expect(proseRequirements(sample).map((r) => r.sentence)).toEqual(['The server MUST hold `a.b` polls.']);
  });

  it('reports a keyword sentence without an ID, and ignores quoted keywords', () => {
    expect(strayKeywords(sample, proseRequirements(sample))).toEqual(['line 5: A stray sentence that SHOULD have an ID.']);
  });

  it('rejects a normative sentence without a closing period', () => {
    expect(() => proseRequirements('<a id="SSP-X-1"></a>**SSP-X-1** The server MUST\n\nanswer.')).toThrow(/closing period/);
  });

  it('ignores keywords inside fenced code blocks', () => {
    expect(strayKeywords(withoutCodeBlocks('```text\nMUST\n```\n'), [])).toEqual([]);
  });

  it('reads the level from keywords outside code spans', () => {
    expect([...levelsOf('A client MUST NOT send `MAY`.')]).toEqual(['MUST']);
  });
});
