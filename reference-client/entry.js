// Package entry `xanjax/client` for plain Node (no TypeScript loader needed): loads node.ts through tsx.
// Bundlers take the "browser" condition (browser.ts) instead; TypeScript users get types from "types".
import { tsImport } from 'tsx/esm/api';

const api = await tsImport('./node.ts', import.meta.url);
export const { SspAbortedError, SspAuthError, SspError, SspGapError, SspProtocolError, SspServerError, SspTerminationError, SspTransportError, Subscription, createSubscribe, subscribe } = api;
