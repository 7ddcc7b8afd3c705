// `npm run build` (also run by `npm pack` through `prepare`): dist/ from scratch, holding
//  - every shipped module as ESM JavaScript with declarations and source maps (tsc, tsconfig.build.json);
//  - dist/xanjax-client.js: the browser client as one minified ES module (esbuild), for pages
//    without a bundler; the reference server serves it at /xanjax-client.js;
//  - dist/schemas/*.json: the schema files, so that a module finding them relative to itself
//    (`new URL('../schemas/x.json', import.meta.url)`) works in the build as in the sources.
//    Other shipped files are found from the package root (schemas/package-root.ts).
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = new URL('../', import.meta.url);

export async function buildClientModule(): Promise<void> {
  await build({
    entryPoints: [fileURLToPath(new URL('reference-client/browser.ts', root))],
    outfile: fileURLToPath(new URL('dist/xanjax-client.js', root)),
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    legalComments: 'none',
    logLevel: 'warning',
  });
}

export async function buildPackage(): Promise<void> {
  rmSync(new URL('dist/', root), { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', fileURLToPath(new URL('tsconfig.build.json', root))], { stdio: 'inherit' });
  for (const file of readdirSync(new URL('schemas/', root)).filter((name) => name.endsWith('.json'))) {
    copyFileSync(new URL(`schemas/${file}`, root), new URL(`dist/schemas/${file}`, root));
  }
  await buildClientModule();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildPackage();
