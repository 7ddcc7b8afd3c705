// Tests start the CLI and the restart checks' server as child processes, often hundreds of
// times per run. Through tsx (bin/xanjax.js) every start costs about a second of CPU in module
// hooks; bundled once by esbuild (the transform tsx itself uses) a start costs a tenth of that,
// which on two cores is the difference between a quick suite and a starved one. The global
// setup builds the bundles into node_modules/.xanjax-test/: inside the repository, so that
// package imports resolve from node_modules and the package-root lookup finds package.json.
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dir = new URL('../../node_modules/.xanjax-test/', import.meta.url);
const entries = {
  xanjax: new URL('../../bin/xanjax.ts', import.meta.url),
  'restart-server': new URL('../conformance/broken/restart-server.ts', import.meta.url),
};

/** `xanjax …` as users run it (`bin/xanjax.ts`), from the current sources. */
export const testBin = fileURLToPath(new URL('xanjax.mjs', dir));
/** The server of the restart checks (test/conformance/broken/restart-server.ts). */
export const restartServer = fileURLToPath(new URL('restart-server.mjs', dir));

export async function buildTestBundles(): Promise<void> {
  await build({
    entryPoints: Object.fromEntries(Object.entries(entries).map(([name, url]) => [name, fileURLToPath(url)])),
    outdir: fileURLToPath(dir),
    outExtension: { '.js': '.mjs' },
    bundle: true,
    // Dependencies too: most of a start is spent loading node_modules, module by module.
    banner: { js: "import { createRequire as __xanjaxRequire } from 'node:module'; const require = __xanjaxRequire(import.meta.url);" },
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
}
