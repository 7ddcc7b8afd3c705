// Every benchmark peer by name, in the order the report lists them (bare first: ratios are to it).
import type { Peer } from '../types.ts';
import { bare } from './bare.ts';
import { bareSsp } from './bare-ssp.ts';
import { engineio } from './engineio.ts';
import { fayePeer } from './faye.ts';
import { nchan, nchanMultipart } from './nchan.ts';
import { reference } from './reference.ts';
import { referenceMux } from './reference-mux.ts';

export const peers: Peer[] = [bare, bareSsp, reference, engineio, fayePeer, nchan, nchanMultipart];

/** Peers of the multiplexing scenario only (`--mux`), not rows of the main table. */
const scenarioPeers: Peer[] = [referenceMux];

export function peerNamed(name: string): Peer {
  const peer = [...peers, ...scenarioPeers].find((p) => p.name === name);
  if (!peer) throw new Error(`unknown peer '${name}' (one of ${[...peers, ...scenarioPeers].map((p) => p.name).join(', ')})`);
  return peer;
}
