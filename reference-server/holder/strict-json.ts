// The syntax step of spec §6.4 (step 5): a request body is an I-JSON text [RFC 7493]
// (SSP-MESSAGE-9/11/12/13). JSON.parse accepts more (a duplicate member keeps its last
// value, "\ud800" becomes a lone surrogate, 2^53 + 1 silently rounds), so what it lets
// through is checked here.
import { SspError } from '../errors.ts';

/** Deepest nesting accepted; the message object is level 1 (SSP-MESSAGE-12/13). */
export const MAX_DEPTH = 32;

const bad = (message: string) => new SspError('bad-request', message);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Parses an I-JSON text, or throws bad-request naming what is wrong. */
export function parseStrictJson(text: string): unknown {
  if (text.charCodeAt(0) === 0xfeff) throw bad('request body begins with a byte order mark; send UTF-8 JSON without one');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw bad(`request body is not valid JSON: ${(error as Error).message}`);
  }
  scanMembers(text);
  checkValue(value, '');
  return value;
}

/** Depth, and duplicate member names (which the parsed value no longer shows), from the text. */
function scanMembers(text: string): void {
  const frames: Array<{ keys: Set<string> | undefined; expectKey: boolean }> = [];
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '{' || char === '[') {
      frames.push({ keys: char === '{' ? new Set() : undefined, expectKey: char === '{' });
      if (frames.length > MAX_DEPTH) throw bad(`message is nested more than ${MAX_DEPTH} levels deep`);
    } else if (char === '}' || char === ']') frames.pop();
    else if (char === ',') {
      const top = frames[frames.length - 1];
      if (top?.keys) top.expectKey = true;
    } else if (char === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const top = frames[frames.length - 1];
      if (top?.keys && top.expectKey) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(name)) throw bad(`member name ${JSON.stringify(name)} occurs twice in one object`);
        top.keys.add(name);
        top.expectKey = false;
      }
      i = end;
    }
  }
}

/** Unpaired surrogates in strings and names, and integers beyond 2^53 − 1, anywhere. */
function checkValue(value: unknown, path: string): void {
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) throw bad(`string at ${path || '/'} contains an unpaired surrogate`);
  } else if (typeof value === 'number') {
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) throw bad(`integer at ${path || '/'} is beyond 2^53 - 1 (I-JSON); send it as a string`);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => checkValue(item, `${path}/${index}`));
  } else if (value !== null && typeof value === 'object') {
    for (const [name, item] of Object.entries(value)) {
      if (LONE_SURROGATE.test(name)) throw bad(`a member name at ${path || '/'} contains an unpaired surrogate`);
      checkValue(item, `${path}/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`);
    }
  }
}
