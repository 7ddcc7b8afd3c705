#!/usr/bin/env node
// The `xanjax` command of the package (compiled to dist/bin/xanjax.js, the package's `bin`).
import { run } from './cli.ts';

process.exitCode = await run(process.argv.slice(2));
