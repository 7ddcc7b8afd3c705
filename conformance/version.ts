// The tool identity written into every report (`tool` in conformance-report.schema.json).
import { packageVersion } from '../schemas/package-root.ts';

export const tool = { name: 'xanjax', version: packageVersion } as const;
