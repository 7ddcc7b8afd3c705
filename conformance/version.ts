// The tool identity written into every report (`tool` in conformance-report.schema.json).
import { readFileSync } from 'node:fs';

const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export const tool = { name: 'xanjax', version: packageJson.version } as const;
