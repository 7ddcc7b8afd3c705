#!/usr/bin/env node
// Development launcher: runs the command from the TypeScript sources through tsx (a dev
// dependency), so tests and a checkout need no build. The package's `bin` is the compiled
// dist/bin/xanjax.js.
import { register } from 'tsx/esm/api';

register();
await import('./xanjax.ts');
