#!/usr/bin/env node
// Launcher: lets the TypeScript sources run directly (no build step) through tsx.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('./cli.ts');
process.exitCode = await run(process.argv.slice(2));
