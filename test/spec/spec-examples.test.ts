// Every JSON example in the spec is valid against the schema it claims to show. A ```json
// block in spec/ssp-1.md must be preceded (blank lines allowed) by `<!-- example: <kind> -->`
// naming a schema kind; in README.md only annotated blocks are checked. A block holds one
// JSON value, or one JSON value per line (several messages side by side).
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createValidator, schemaKinds } from '../../schemas/index.ts';
import type { SchemaKind } from '../../schemas/index.ts';

interface Block {
  /** 1-based line of the opening fence. */
  line: number;
  kind: string | undefined;
  text: string;
}

const annotation = /^<!--\s*example:\s*([a-z-]+)\s*-->$/;

/** ```json blocks with the kind named by the annotation right above them (if any). */
function jsonBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^(\s*)(`{3,}|~{3,})\s*(\S*)/.exec(lines[i]);
    if (!fence) continue;
    const close = lines.findIndex((line, j) => j > i && line.trim().startsWith(fence[2]) && line.trim().replace(/[`~]/g, '') === '');
    const end = close === -1 ? lines.length : close;
    if (fence[3].toLowerCase() === 'json') {
      let above = i - 1;
      while (above >= 0 && lines[above].trim() === '') above--;
      const kind = above >= 0 ? annotation.exec(lines[above].trim())?.[1] : undefined;
      blocks.push({ line: i + 1, kind, text: lines.slice(i + 1, end).join('\n') });
    }
    i = end;
  }
  return blocks;
}

/** The values a block shows: the whole block as JSON, else each non-empty line as JSON. */
function parseBlock(text: string): { values: unknown[] } | { error: string } {
  try {
    return { values: [JSON.parse(text)] };
  } catch (whole) {
    const lines = text.split('\n').filter((line) => line.trim() !== '');
    try {
      if (lines.length > 1) return { values: lines.map((line) => JSON.parse(line) as unknown) };
    } catch {
      // Report the whole-block error: it is the likelier intent.
    }
    return { error: (whole as Error).message };
  }
}

/** One line per problem: `<file>:<line> <what is wrong>`. */
function problems(file: string, markdown: string, requireAnnotation: boolean): string[] {
  const validator = createValidator();
  const found: string[] = [];
  for (const block of jsonBlocks(markdown)) {
    const where = `${file}:${block.line}`;
    if (block.kind === undefined) {
      if (requireAnnotation) found.push(`${where} json block has no <!-- example: <kind> --> annotation above it`);
      continue;
    }
    if (!(schemaKinds as readonly string[]).includes(block.kind)) {
      found.push(`${where} unknown example kind '${block.kind}' (one of: ${schemaKinds.join(', ')})`);
      continue;
    }
    const parsed = parseBlock(block.text);
    if ('error' in parsed) {
      found.push(`${where} not valid JSON: ${parsed.error}`);
      continue;
    }
    for (const value of parsed.values) {
      const result = validator.validate(block.kind as SchemaKind, value);
      if (!result.ok) found.push(`${where} invalid ${block.kind}: ${result.errors.join('; ')}`);
    }
  }
  return found;
}

const specFile = new URL('../../spec/ssp-1.md', import.meta.url);
const readmeFile = new URL('../../README.md', import.meta.url);

describe('JSON examples in the documentation', () => {
  it('spec/ssp-1.md exists and every json block in it is annotated and valid', () => {
    expect(existsSync(specFile), 'spec/ssp-1.md is missing').toBe(true);
    const markdown = readFileSync(specFile, 'utf8');
    expect(jsonBlocks(markdown).length, 'spec/ssp-1.md has no json examples').toBeGreaterThan(0);
    expect(problems('spec/ssp-1.md', markdown, true)).toEqual([]);
  });

  it.skipIf(!existsSync(readmeFile))('every annotated json block in README.md is valid', () => {
    expect(problems('README.md', readFileSync(readmeFile, 'utf8'), false)).toEqual([]);
  });

  it('the checker itself: finds unannotated, unknown-kind, malformed and invalid blocks with their lines', () => {
    const markdown = [
      '# t', // 1
      '<!-- example: poll -->', // 2
      '', // 3
      '```json', // 4
      '{"ssp":1,"type":"poll","sig":"abcdefghijklmnop"}', // 5
      '```', // 6
      '```json', // 7
      '{}', // 8
      '```', // 9
      '<!-- example: nope -->', // 10
      '```json', // 11
      '{}', // 12
      '```', // 13
      '<!-- example: close -->', // 14
      '```json', // 15
      '{"ssp":1,', // 16
      '```', // 17
      '<!-- example: server-message -->', // 18
      '```json', // 19
      '{"ssp":1,"type":"batch","sig":"abcdefghijklmnop","events":[]}', // 20
      '{"ssp":1,"type":"batch","sig":"abcdefghijklmnop","events":[{"seq":0,"data":1}]}', // 21
      '```', // 22
      '```ts', // 23
      '<!-- example: poll -->', // 24
      '```', // 25
    ].join('\n');
    const found = problems('x.md', markdown, true);
    expect(found).toHaveLength(4);
    expect(found[0]).toMatch(/^x\.md:7 json block has no .* annotation/);
    expect(found[1]).toMatch(/^x\.md:11 unknown example kind 'nope'/);
    expect(found[2]).toMatch(/^x\.md:15 not valid JSON/);
    expect(found[3]).toMatch(/^x\.md:19 invalid server-message: /);
    expect(problems('x.md', markdown, false)).toHaveLength(3);
  });
});
