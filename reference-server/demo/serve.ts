// The demo page (`--demo`): static files from this folder, read from the package (they ship
// as they are), with the endpoint path and the publishing hint filled in. The client module
// it imports is served by every handler (../client-module.ts).
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

/** The topic `serve --demo` offers, so a second terminal can publish into the running demo. */
export const DEMO_TOPIC = 'news';

/**
 * How to publish into the demo's topic from another process, for the page: the command for a
 * log other processes can reach (`location`: file:DIR or redis://…), or how to start such a
 * server when the events live in this process's memory.
 */
export function publishHint(location: string | undefined): { note: string; command: string } {
  const example = `${DEMO_TOPIC} '{"headline":"hello from another terminal"}'`;
  if (location === undefined) {
    return {
      note: 'This server keeps its events in memory, which no other process can reach. Start it with a file (or Redis) log, then publish from a second terminal:',
      command: `npx xanjax serve --demo --log file:./xanjax-demo
npx xanjax publish --log file:./xanjax-demo ${example}`,
    };
  }
  return { note: `Choose the stream ${DEMO_TOPIC} above, then publish from a second terminal:`, command: `npx xanjax publish --log ${shellWord(location)} ${example}` };
}

/** Serves the demo; returns false for paths that are not the demo's. `publishing`: the demo topic is offered. */
export function createDemo(endpointPath: string, publishing?: { note: string; command: string }): StaticRoute {
  const cache = new Map<string, Promise<string>>();

  const load = (file: string) => {
    let text = cache.get(file);
    if (!text) {
      // The page learns the endpoint path from its <html data-endpoint> attribute.
      text = readFile(packageFile(`reference-server/demo/${file}`), 'utf8').then((t) =>
        t
          .replaceAll('%ENDPOINT%', escapeAttribute(endpointPath))
          .replaceAll('%PUBLISH_HIDDEN%', publishing ? '' : 'hidden')
          .replaceAll('%PUBLISH_NOTE%', escapeText(publishing?.note ?? ''))
          .replaceAll('%PUBLISH%', escapeText(publishing?.command ?? '')),
      );
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

function escapeText(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** A --log value as one shell word (a folder may contain spaces). */
function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
