// Package entry `xanjax/server` for plain Node (no TypeScript loader needed): loads index.ts through tsx.
// TypeScript users get the types from the "types" condition in package.json.
import { tsImport } from 'tsx/esm/api';

const api = await tsImport('./index.ts', import.meta.url);
export const {
  MemoryEventLog,
  SerializedData,
  StreamError,
  annexStreams,
  clientKeyFromForwardedFor,
  clientKeyFromSocket,
  conformanceLimits,
  createServer,
  createSspHandler,
  defaultLimits,
  demoTicker,
  eventWireBytes,
  sessionChannel,
  topicChannel,
} = api;
