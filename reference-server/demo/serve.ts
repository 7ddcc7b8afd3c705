// The demo page (`--demo`): static files from this folder, plus the reference browser client
// bundled by esbuild at first request and kept in memory.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { writeHead } from '../holder/http.ts';
import type { SspRequest, SspResponse } from '../holder/http.ts';

const CLIENT_ENTRY = fileURLToPath(new URL('../../reference-client/browser.ts', import.meta.url));

const files: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/demo.css': { file: 'demo.css', type: 'text/css; charset=utf-8' },
  '/demo.js': { file: 'demo.js', type: 'text/javascript; charset=utf-8' },
};

export const CLIENT_SCRIPT_PATH = '/xanjax-client.js';

export type DemoRoute = (req: SspRequest, res: SspResponse, pathname: string) => boolean;

/** Serves the demo; returns false for paths that are not the demo's. */
export function createDemo(endpointPath: string): DemoRoute {
  let client: Promise<string> | undefined;
  const cache = new Map<string, Promise<string>>();

  const load = (file: string) => {
    let text = cache.get(file);
    if (!text) {
      // The page learns the endpoint path from its <html data-endpoint> attribute.
      text = readFile(new URL(file, import.meta.url), 'utf8').then((t) => t.replaceAll('%ENDPOINT%', escapeAttribute(endpointPath)));
      cache.set(file, text);
    }
    return text;
  };

  const bundle = () => {
    client ??= build({ entryPoints: [CLIENT_ENTRY], bundle: true, minify: true, format: 'esm', write: false, platform: 'browser', logLevel: 'silent' }).then(
      (result) => result.outputFiles[0].text,
    );
    // A failed build is not cached: fixing the file and reloading the page must work.
    client.catch(() => (client = undefined));
    return client;
  };

  return (req, res, pathname) => {
    const page = files[pathname];
    if (!page && pathname !== CLIENT_SCRIPT_PATH) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
      return true;
    }
    const text = page ? load(page.file) : bundle();
    const type = page ? page.type : 'text/javascript; charset=utf-8';
    // The client module is public code: pages on other origins may import it (module scripts need CORS).
    const extra: Record<string, string> = page ? {} : { 'access-control-allow-origin': '*' };
    text.then(
      // For HEAD, Node sends the headers and drops the body.
      (body) => send(res, 200, type, body, extra),
      (error: Error) => send(res, 500, 'text/plain; charset=utf-8', `demo file unavailable: ${error.message}\n`),
    );
    return true;
  };
}

function send(res: SspResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  writeHead(res, status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...extra });
  res.end(body);
}

function escapeAttribute(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;');
}
