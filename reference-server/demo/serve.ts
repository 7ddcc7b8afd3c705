// The demo page (`--demo`): static files from this folder, read from the package (they ship
// as they are), with the endpoint path filled in. The client module it imports is served by
// every handler (../client-module.ts).
import { readFile } from 'node:fs/promises';
import { packageFile } from '../../schemas/package-root.ts';
import { sendText } from '../client-module.ts';
import type { StaticRoute } from '../client-module.ts';

const files: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/demo.css': { file: 'demo.css', type: 'text/css; charset=utf-8' },
  '/demo.js': { file: 'demo.js', type: 'text/javascript; charset=utf-8' },
};

/** Serves the demo; returns false for paths that are not the demo's. */
export function createDemo(endpointPath: string): StaticRoute {
  const cache = new Map<string, Promise<string>>();

  const load = (file: string) => {
    let text = cache.get(file);
    if (!text) {
      // The page learns the endpoint path from its <html data-endpoint> attribute.
      text = readFile(packageFile(`reference-server/demo/${file}`), 'utf8').then((t) => t.replaceAll('%ENDPOINT%', escapeAttribute(endpointPath)));
      cache.set(file, text);
    }
    return text;
  };

  return (req, res, pathname) => {
    const page = files[pathname];
    if (!page) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
      return true;
    }
    load(page.file).then(
      // For HEAD, Node sends the headers and drops the body.
      (body) => sendText(res, 200, page.type, body),
      (error: Error) => sendText(res, 500, 'text/plain; charset=utf-8', `demo file unavailable: ${error.message}\n`),
    );
    return true;
  };
}

function escapeAttribute(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;');
}
