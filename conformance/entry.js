// Package entry `xanjax/conformance` for plain Node (no TypeScript loader needed): loads index.ts through tsx.
// TypeScript users get the types from the "types" condition in package.json.
import { tsImport } from 'tsx/esm/api';

const api = await tsImport('./index.ts', import.meta.url);
export const { CheckFailure, CheckNote, ConformanceTestFailure, DiscoveryError, NotTestable, UsageError, check, conformanceTests, createContext, exitCodeOf, getChecks, reporters, runChecks } = api;
