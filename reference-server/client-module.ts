// The reference browser client as one ES module (reference-client/browser.ts and its imports,
// minified), built ahead by `npm run build` into dist/xanjax-client.js and shipped in the
// package, so a page without a bundler can `import { pushlet } from '/xanjax-client.js'`.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { packageFile } from '../schemas/package-root.ts';

export const CLIENT_MODULE_PATH = '/xanjax-client.js';
export const clientModuleFile = packageFile('dist/xanjax-client.js');

export type StaticRoute = (req: IncomingMessage, res: ServerResponse, pathname: string) => boolean;

/** Serves the client module at `path`; returns false for every other path. */
export function createClientModuleRoute(path: string): StaticRoute {
  let text: Promise<string> | undefined;
  return (req, res, pathname) => {
    if (pathname !== path) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
      return true;
    }
    text ??= readFile(clientModuleFile, 'utf8');
    // A missing file is not cached: `npm run build` in a checkout and a reload must work.
    text.catch(() => (text = undefined));
    text.then(
      // Public code: pages on other origins may import it (module scripts need CORS). For HEAD,
      // Node sends the headers and drops the body.
      (body) => sendText(res, 200, 'text/javascript; charset=utf-8', body, { 'access-control-allow-origin': '*' }),
      (error: Error) => sendText(res, 500, 'text/plain; charset=utf-8', `client module unavailable (run npm run build): ${error.message}\n`),
    );
    return true;
  };
}

export function sendText(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...extra });
  res.end(body);
}
