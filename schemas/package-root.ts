// The folder of the xanjax package: files that ship as they are (JSON Schemas, the demo page,
// the prebuilt browser client, package.json) are found from it. Code runs from the sources
// (`schemas/x.ts`, in this repository's tests) and from the build (`dist/schemas/x.js`, in the
// package), one folder deeper: the root is the nearest folder above with xanjax's package.json.
import { existsSync, readFileSync } from 'node:fs';

function findRoot(): URL {
  for (let dir = new URL('./', import.meta.url); ; dir = new URL('../', dir)) {
    const manifest = new URL('package.json', dir);
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'xanjax') return dir;
    if (dir.pathname === '/') throw new Error(`xanjax: no package.json of xanjax above ${import.meta.url}`);
  }
}

export const packageRoot: URL = findRoot();

/** A file of the package, by its path from the package root (`schemas/poll.schema.json`). */
export function packageFile(path: string): URL {
  return new URL(path, packageRoot);
}

export const packageVersion: string = (JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string }).version;
