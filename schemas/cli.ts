// `xanjax types [--out DIR]`: hands SSP/1 implementers in any language the
// checked-in TypeScript types, every schema file, and one bundled schema document.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { allSchemas, schemaBaseId, schemaFiles } from './index.ts';
import { packageFile, packageVersion } from './package-root.ts';

export const bundleFile = 'ssp-1.schemas.json';
export const typesOutFile = 'ssp-types.ts';

const usage = `Usage: xanjax types [--out DIR]

Writes the SSP/1 TypeScript types and JSON Schemas (draft 2020-12) into DIR (default ./ssp-types):
  ${typesOutFile}          TypeScript types for every message
  ${bundleFile}    every schema in one document, $defs keyed by $id
  *.schema.json         one schema per message, plus defs.schema.json
  error-codes.json      the error-code registry [{code, status, retryable, description}]

Options:
  --out DIR   output directory (created if missing)
  -h, --help  show this help`;

/**
 * Every schema as an embedded resource of one document: `$defs` keyed by `$id`, so
 * validators resolve each `$ref` by `$id` without fetching anything.
 */
export function schemaBundle(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `${schemaBaseId}${bundleFile}`,
    title: 'SSP/1 JSON Schemas',
    description: 'Every SSP/1 schema, keyed by $id. Validate a message against {"$ref": "<$id of its schema>"}.',
    $defs: Object.fromEntries(allSchemas.map((schema) => [schema.$id, schema])),
  };
}

/**
 * The generated message types: schemas/types.gen.ts in this repository; the package ships no
 * TypeScript sources, only its declaration file (the same types), which serves instead.
 */
function messageTypes(): string {
  const source = packageFile('schemas/types.gen.ts');
  if (existsSync(source)) return readFileSync(source, 'utf8');
  const declarations = readFileSync(new URL('types.gen.d.ts', import.meta.url), 'utf8').replace(/\/\/# sourceMappingURL=.*\s*$/, '');
  return `// SSP/1 message types from xanjax ${packageVersion}, generated from the JSON Schemas — do not edit\n\n${declarations}`;
}

export async function main(argv: string[]): Promise<number> {
  let out: string;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      console.log(usage);
      return 0;
    }
    if (positionals.length > 0) throw new Error(`unexpected argument '${positionals[0]}'`);
    if (values.out === '') throw new Error('--out needs a directory');
    out = resolve(values.out ?? 'ssp-types');
  } catch (error) {
    console.error(`xanjax types: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(resolve(out, typesOutFile), messageTypes());
  copyFileSync(packageFile('schemas/error-codes.json'), resolve(out, 'error-codes.json'));
  for (const file of schemaFiles) copyFileSync(packageFile(`schemas/${file}`), resolve(out, file));
  writeFileSync(resolve(out, bundleFile), `${JSON.stringify(schemaBundle(), null, 2)}\n`);
  console.log(`wrote ${typesOutFile}, ${bundleFile}, error-codes.json and ${schemaFiles.length} schema files to ${out}`);
  return 0;
}
