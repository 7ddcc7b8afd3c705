// The package as a user gets it: `npm pack` of a copy of this checkout (so `prepare` builds
// dist/ from scratch), the tarball installed into a new project from the registry (or npm's
// cache), a consumer that imports every entry point compiled with tsc under the strictest
// settings (module nodenext, and bundler) and run with plain node, and the installed `xanjax`
// command serving and testing itself. Nothing in the consumer comes from this repository
// except the tarball.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; exports: Record<string, unknown> };
/** The runtime install before this package was built (tsx, esbuild, type generation at run time). */
const ORIGINAL_INSTALL_BYTES = 67 * 1024 * 1024;

const work = mkdtempSync(join(tmpdir(), 'xanjax-package-'));
const consumer = join(work, 'consumer');
let tarball: string;
let packedFiles: string[];
let runtimeInstallBytes: number;
let installStderr: string;
let runtimePackages: string[];
const servers: ChildProcess[] = [];

beforeAll(async () => {
  // A copy of the checkout (tracked and new files, as a clone would have them) with this
  // repository's dev dependencies linked in for the build.
  const source = join(work, 'source');
  const { stdout: list } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, maxBuffer: 16 << 20 });
  for (const file of list.split('\0').filter(Boolean)) {
    try {
      cpSync(join(root, file), join(source, file));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // deleted, not yet committed
    }
  }
  symlinkSync(join(root, 'node_modules'), join(source, 'node_modules'), 'dir');
  const { stdout: packed } = await run(npm, ['pack', '--json', '--pack-destination', work], { cwd: source, maxBuffer: 16 << 20 });
  const [info] = JSON.parse(packed) as [{ filename: string; files: { path: string }[] }];
  tarball = join(work, info.filename);
  packedFiles = info.files.map((f) => f.path).sort();

  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const installed = await run(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: consumer });
  installStderr = installed.stderr;
  runtimeInstallBytes = treeBytes(join(consumer, 'node_modules'));
  runtimePackages = readdirSync(join(consumer, 'node_modules')).filter((name) => !name.startsWith('.'));
  console.log(`xanjax package: ${packedFiles.length} files; runtime install ${(runtimeInstallBytes / 1e6).toFixed(1)} MB in node_modules`);
  // The consumer's own tools, at the versions this repository builds with.
  const versionOf = (name: string) => (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  await run(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', '-D', `typescript@${versionOf('typescript')}`, `@types/node@${versionOf('@types/node')}`], {
    cwd: consumer,
  });
}, 600_000);

afterAll(() => {
  for (const server of servers) server.kill();
  rmSync(work, { recursive: true, force: true });
});

/** Bytes of every file under dir (symlinks not followed), as `du --apparent-size` counts. */
function treeBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? treeBytes(path) : lstatSync(path).size;
  }
  return total;
}

describe('the tarball', () => {
  it('holds the compiled code, declarations, schemas, spec, README and licence; no tests, CI scripts or TypeScript sources', () => {
    const allowed = [
      /^dist\/.+\.(js|d\.ts|js\.map|json)$/,
      /^schemas\/.+\.(json|md)$/,
      /^spec\/.+\.(md|json)$/,
      /^reference-server\/demo\/[^/]+\.(html|css|js)$/,
      /^(conformance|reference-client)\/README\.md$/,
      /^(README\.md|LICENSE|package\.json)$/,
    ];
    expect(packedFiles.filter((file) => !allowed.some((pattern) => pattern.test(file)))).toEqual([]);
    expect(packedFiles.filter((file) => /^(test|\.ci|scripts|bench)\//.test(file) || (file.endsWith('.ts') && !file.endsWith('.d.ts')))).toEqual([]);
    for (const file of ['LICENSE', 'README.md', 'spec/ssp-1.md', 'schemas/poll.schema.json', 'dist/bin/xanjax.js', 'dist/xanjax-client.js', 'reference-server/demo/index.html']) {
      expect(packedFiles, file).toContain(file);
    }
    // Every file that package.json's exports name is in the tarball.
    const targets = (value: unknown): string[] => (typeof value === 'string' ? [value] : Object.values(value as object).flatMap(targets));
    for (const target of targets(packageJson.exports).filter((t) => !t.includes('*'))) expect(packedFiles, target).toContain(target.slice(2));
  });

  it('installs with no warning, runtime dependencies only, in at most a quarter of the original 67 MB', () => {
    expect(installStderr).not.toMatch(/warn/i);
    for (const devOnly of ['tsx', 'esbuild', 'json-schema-to-typescript', 'prettier', 'typescript', 'vitest']) expect(runtimePackages).not.toContain(devOnly);
    expect(runtimeInstallBytes).toBeLessThanOrEqual(ORIGINAL_INSTALL_BYTES / 4);
  });
});

describe('a consumer project', () => {
  const strict = {
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    verbatimModuleSyntax: true,
    resolveJsonModule: true,
    skipLibCheck: false,
    target: 'es2022',
  };

  async function tsc(project: string): Promise<string> {
    const bin = join(consumer, 'node_modules', 'typescript', 'bin', 'tsc');
    return run(process.execPath, [bin, '-p', project], { cwd: consumer }).then(
      () => '',
      (error: { stdout: string }) => error.stdout,
    );
  }

  beforeAll(() => {
    writeFileSync(join(consumer, 'consumer.ts'), consumerSource);
    writeFileSync(join(consumer, 'browser.ts'), browserSource);
    writeFileSync(join(consumer, 'consumer.cjs'), requireSource);
    // Every ```ts block of the README, each its own module, as a user would paste it.
    const snippets = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
    expect(snippets.length).toBeGreaterThanOrEqual(3);
    mkdirSync(join(consumer, 'readme'));
    snippets.forEach((code, i) => writeFileSync(join(consumer, 'readme', `snippet-${i + 1}.ts`), `${code}\nexport {};\n`));
    const node = { ...strict, module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2023'], types: ['node'] };
    // One program for the consumer and the snippets (one tsc run is most of this test's time).
    writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...node, outDir: 'out' }, files: ['consumer.ts'], include: ['readme/*.ts'] }));
    const bundler = { ...strict, module: 'preserve', moduleResolution: 'bundler', noEmit: true };
    writeFileSync(join(consumer, 'tsconfig.bundler.json'), JSON.stringify({ compilerOptions: { ...bundler, lib: ['es2023'], types: ['node'] }, files: ['consumer.ts'] }));
    writeFileSync(
      join(consumer, 'tsconfig.browser.json'),
      JSON.stringify({ compilerOptions: { ...bundler, lib: ['es2023', 'dom', 'dom.iterable'], types: [], customConditions: ['browser'] }, files: ['browser.ts'] }),
    );
  });

  it("compiles every entry point and the README's TypeScript snippets with tsc under module nodenext and strict settings, and runs with plain node", async () => {
    expect(await tsc('tsconfig.json')).toBe('');
    const { stdout } = await run(process.execPath, [join(consumer, 'out', 'consumer.js')], { cwd: consumer, timeout: 60_000 });
    expect(stdout).toContain('consumer: events 1,2,3; schemas, types, conformance, client and server entries work');
  }, 120_000);

  it('compiles under module bundler, and the browser condition gives the browser client', async () => {
    expect(await tsc('tsconfig.bundler.json')).toBe('');
    expect(await tsc('tsconfig.browser.json')).toBe('');
  }, 120_000);

  it('require()s the client and schemas entries from CommonJS', async () => {
    const { stdout } = await run(process.execPath, [join(consumer, 'consumer.cjs')], { cwd: consumer });
    expect(stdout.trim()).toBe('require: ok');
  });

  it('runs the installed xanjax: --version, serve (with the client module), and conformance against it', async () => {
    const bin = join(consumer, 'node_modules', '.bin', 'xanjax');
    expect((await run(bin, ['--version'], { cwd: consumer })).stdout.trim()).toBe(packageJson.version);
    const server = spawn(bin, ['serve', '--conformance', '--port', '0'], { cwd: consumer, stdio: ['ignore', 'pipe', 'inherit'] });
    servers.push(server);
    const [line] = (await createInterface({ input: server.stdout! })[Symbol.asyncIterator]().next()).value?.match(/http:\/\/\S+/) ?? [];
    expect(line).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ssp$/);
    const endpoint = line!;
    const client = await fetch(new URL('/xanjax-client.js', endpoint));
    expect(client.status).toBe(200);
    expect(client.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await client.text()).toMatch(/export\s*\{[^}]*pushlet/);
    const conformance = await run(bin, ['conformance', endpoint], { cwd: consumer, timeout: 120_000 }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
    expect(conformance.stdout).toMatch(/✓ CONFORMING/);
    expect(conformance.code).toBe(0);
  }, 180_000);
});

// A Node program using every entry point, with the types a user would write.
const consumerSource = `
import { createServer, type SspServer, type StreamDefinition } from 'xanjax/server';
import { subscribe, SspError, type SubscribeOptions } from 'xanjax/client';
import { conformanceTests, type ConformanceTest } from 'xanjax/conformance';
import { createValidator, errorCodes, schemas } from 'xanjax/schemas';
import type { PollMessage, ServerMessage } from 'xanjax/types';
import pollSchema from 'xanjax/schemas/poll.schema.json' with { type: 'json' };

const greeting: StreamDefinition = {
  description: 'one greeting',
  params: { type: 'object', additionalProperties: false },
  async *produce() {
    yield { hello: 'world' };
  },
};
// Options the environment may leave unset are passed as they are (exactOptionalPropertyTypes).
const server: SspServer = await createServer({ port: 0, conformance: true, streams: { greeting }, secret: process.env.XANJAX_SECRET });
const options: SubscribeOptions = { holdMs: 1000, signal: undefined };
const seqs: number[] = [];
for await (const event of subscribe(server.url, 'ssp.counter', { count: 3 }, options)) seqs.push(event.seq);
const poll: PollMessage = { ssp: 1, type: 'poll', sig: 'abcdefghijklmnop', hold: 0 };
const validator = createValidator();
if (!validator.validate('poll', poll).ok || pollSchema.$id !== schemas.poll.$id || errorCodes.length === 0) throw new Error('schemas');
const first: ServerMessage | undefined = undefined;
const tests: ConformanceTest[] = await conformanceTests(server.url, { only: ['SSP-DISCOVERY-1'] });
for (const test of tests) await test.run();
if (tests.length === 0 || typeof SspError !== 'function' || first !== undefined) throw new Error('entries');
await server.close();
console.log(\`consumer: events \${seqs.join(',')}; schemas, types, conformance, client and server entries work\`);
`;

// A page's module bundled by a user's bundler: 'xanjax/client' resolves to the browser entry.
const browserSource = `
import { pushlet, subscribe, type PushletOptions } from 'xanjax/client';

const options: PushletOptions = { endpoint: '/ssp', stream: 'ticker' };
const feed = document.getElementById('feed');
if (feed) pushlet(feed, options);
const sub = subscribe('/ssp', 'ticker');
sub.close();
`;

const requireSource = `
const client = require('xanjax/client');
const schemas = require('xanjax/schemas');
if (typeof client.subscribe !== 'function' || !Array.isArray(schemas.errorCodes) || schemas.errorCodes.length === 0) process.exit(1);
console.log('require: ok');
`;
